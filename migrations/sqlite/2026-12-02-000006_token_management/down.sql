ALTER TABLE users DROP COLUMN session_version;

-- The old schema cannot express an expiry: a token meant to expire would live forever.
CREATE TABLE api_tokens_old (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creation_time BIGINT NOT NULL
);
INSERT INTO api_tokens_old (token_hash, user_id, creation_time)
SELECT token_hash, user_id, creation_time FROM api_tokens WHERE expires_at IS NULL;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_old RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
