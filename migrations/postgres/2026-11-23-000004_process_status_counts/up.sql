-- How many processes are in each status, kept exact by triggers, so the total of a listing by
-- status (the DSpace admin UI's query) is one row read instead of an index scan that grows
-- with the table.
CREATE TABLE process_status_counts (
    status TEXT PRIMARY KEY NOT NULL,
    n BIGINT NOT NULL
);

INSERT INTO process_status_counts (status, n)
SELECT status, count(*) FROM processes GROUP BY status;

CREATE FUNCTION processes_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE process_status_counts SET n = n - 1 WHERE status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO process_status_counts (status, n) VALUES (NEW.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = process_status_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER processes_count_insert_delete AFTER INSERT OR DELETE ON processes
FOR EACH ROW EXECUTE FUNCTION processes_count();

CREATE TRIGGER processes_count_update AFTER UPDATE OF status ON processes
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION processes_count();
