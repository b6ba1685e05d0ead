ALTER TABLE users DROP COLUMN session_version;

-- The old schema cannot express an expiry: a token meant to expire would live forever.
DELETE FROM api_tokens WHERE expires_at IS NOT NULL;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN expires_at;
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_token_hash_key;
ALTER TABLE api_tokens DROP COLUMN id;
ALTER TABLE api_tokens ADD PRIMARY KEY (token_hash);
