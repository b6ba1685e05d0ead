DROP TRIGGER processes_count_delete;
DROP TRIGGER processes_count_update;
DROP TRIGGER processes_count_insert;
DROP TABLE process_status_counts;
