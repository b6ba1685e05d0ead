-- Processes started anonymously are seen only by whoever presents the capability their
-- launch answered with; only its SHA-256 (hex) is kept. NULL: owned by a user, or started
-- before capabilities existed (then only admins see it, unless the site made anonymous
-- processes public).
ALTER TABLE processes ADD COLUMN access_hash TEXT;
