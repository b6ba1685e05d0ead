-- Whole values can outgrow a btree entry (PostgreSQL refuses rows over ~2.7 kB of index,
-- a long incompressible parameter value failed the launch); index a prefix instead, which
-- the parameter filter compares before the whole value.
DROP INDEX process_parameters_lookup;
CREATE INDEX process_parameters_lookup ON process_parameters (name, substr(value, 1, 200));
