-- Tokens get an id an administrator can name to list or revoke one without knowing it (ids
-- come from a sequence and are never reused, so a revoked id never names a newer token), an
-- optional expiry, and the time of their last use.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_pkey;
ALTER TABLE api_tokens ADD COLUMN id BIGSERIAL PRIMARY KEY;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash);
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;

-- Login JWTs carry the version they were issued under; bumping it (logout, a new password,
-- revoking every token) cuts off every JWT issued before.
ALTER TABLE users ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;
