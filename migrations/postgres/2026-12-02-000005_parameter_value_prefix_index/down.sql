DROP INDEX process_parameters_lookup;
CREATE INDEX process_parameters_lookup ON process_parameters (name, value);
