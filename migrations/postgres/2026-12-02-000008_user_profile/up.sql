-- What an eperson resource shows of a user besides their name, and whether the user comes
-- from an OpenID Connect provider (then they have no password, and their groups and admin
-- right are the provider's, written here each time they change).
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN first_name TEXT;
ALTER TABLE users ADD COLUMN last_name TEXT;
ALTER TABLE users ADD COLUMN external BOOLEAN NOT NULL DEFAULT FALSE;
