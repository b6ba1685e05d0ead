ALTER TABLE processes DROP COLUMN access_hash;
