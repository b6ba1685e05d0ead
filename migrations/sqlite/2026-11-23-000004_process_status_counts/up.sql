-- How many processes are in each status, kept exact by triggers, so the total of a listing by
-- status (the DSpace admin UI's query) is one row read instead of an index scan that grows
-- with the table.
CREATE TABLE process_status_counts (
    status TEXT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);

INSERT INTO process_status_counts (status, n)
SELECT status, count(*) FROM processes GROUP BY status;

CREATE TRIGGER processes_count_insert AFTER INSERT ON processes
BEGIN
    INSERT INTO process_status_counts (status, n) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER processes_count_update AFTER UPDATE OF status ON processes
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE process_status_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO process_status_counts (status, n) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER processes_count_delete AFTER DELETE ON processes
BEGIN
    UPDATE process_status_counts SET n = n - 1 WHERE status = OLD.status;
END;
