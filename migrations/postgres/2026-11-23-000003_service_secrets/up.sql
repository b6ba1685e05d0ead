-- Secrets the service generates once and every node shares (the JWT signing key).
CREATE TABLE service_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    creation_time BIGINT NOT NULL
);
