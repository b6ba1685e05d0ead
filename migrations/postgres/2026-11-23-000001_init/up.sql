-- Times are microseconds since the Unix epoch (UTC) in BIGINT columns: exact, sortable and
-- identical on SQLite and PostgreSQL.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT,
    creation_time BIGINT NOT NULL
);

CREATE TABLE user_groups (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);

-- Only the SHA-256 of a token is stored.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    creation_time BIGINT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE processes (
    id BIGSERIAL PRIMARY KEY,
    user_id TEXT REFERENCES users (id),
    script_name TEXT COLLATE "C" NOT NULL, -- byte order, as SQLite sorts
    status TEXT NOT NULL,
    creation_time BIGINT NOT NULL,
    start_time BIGINT,
    end_time BIGINT,
    not_before BIGINT,
    percent_complete INTEGER,
    status_reason TEXT,
    exit_code INTEGER,
    dependency_type TEXT NOT NULL DEFAULT 'afterok',
    executor_job_id TEXT,
    output_truncated BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX processes_creation ON processes (creation_time, id);
CREATE INDEX processes_status ON processes (status, creation_time, id);
CREATE INDEX processes_user ON processes (user_id, creation_time, id);
CREATE INDEX processes_script ON processes (script_name, creation_time, id);
CREATE INDEX processes_due ON processes (status, not_before);

CREATE TABLE process_parameters (
    process_id BIGINT NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (process_id, position)
);
CREATE INDEX process_parameters_lookup ON process_parameters (name, value);

CREATE TABLE process_dependencies (
    process_id BIGINT NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
    depends_on BIGINT NOT NULL REFERENCES processes (id),
    PRIMARY KEY (process_id, depends_on)
);
CREATE INDEX process_dependencies_target ON process_dependencies (depends_on);

CREATE TABLE process_files (
    id TEXT PRIMARY KEY NOT NULL,
    process_id BIGINT NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    filetype TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    md5 TEXT NOT NULL,
    storage_path TEXT NOT NULL,
    creation_time BIGINT NOT NULL
);
CREATE INDEX process_files_process ON process_files (process_id, filetype, name);

CREATE TABLE output_lines (
    process_id BIGINT NOT NULL REFERENCES processes (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    time BIGINT NOT NULL,
    stream TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (process_id, seq)
);
