DROP TRIGGER processes_count_update ON processes;
DROP TRIGGER processes_count_insert_delete ON processes;
DROP FUNCTION processes_count();
DROP TABLE process_status_counts;
