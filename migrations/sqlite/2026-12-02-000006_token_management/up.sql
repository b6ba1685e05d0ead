-- Tokens get an id an administrator can name to list or revoke one without knowing it
-- (AUTOINCREMENT never reuses an id, so a revoked id never names a newer token), an optional
-- expiry, and the time of their last use. SQLite cannot change a primary key in place, so
-- the table is rebuilt; nothing references it.
CREATE TABLE api_tokens_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creation_time BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT
);
INSERT INTO api_tokens_new (token_hash, user_id, creation_time)
SELECT token_hash, user_id, creation_time FROM api_tokens ORDER BY creation_time;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Login JWTs carry the version they were issued under; bumping it (logout, a new password,
-- revoking every token) cuts off every JWT issued before.
ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;
