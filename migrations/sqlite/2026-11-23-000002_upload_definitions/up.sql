-- Upload sessions ("upload definitions", after FOLIO's data-import API): files a user declares
-- and uploads one by one, later consumed by a process launch. Bytes live in
-- <data_dir>/uploads/<file id>; these rows say what they are.
CREATE TABLE upload_definitions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL,
    -- The process that consumed it (status COMPLETED); kept NULL if that process is deleted.
    process_id BIGINT REFERENCES processes (id) ON DELETE SET NULL,
    create_date BIGINT NOT NULL,
    updated_date BIGINT NOT NULL,
    updated_by TEXT NOT NULL REFERENCES users (id)
);
CREATE INDEX upload_definitions_user ON upload_definitions (user_id, create_date, id);
CREATE INDEX upload_definitions_created ON upload_definitions (create_date, id);

CREATE TABLE upload_files (
    id TEXT PRIMARY KEY NOT NULL,
    upload_id TEXT NOT NULL REFERENCES upload_definitions (id) ON DELETE CASCADE,
    -- Declaration order within the definition.
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    ui_key TEXT,
    status TEXT NOT NULL,
    create_date BIGINT NOT NULL,
    uploaded_date BIGINT,
    size_bytes BIGINT,
    md5 TEXT,
    UNIQUE (upload_id, name),
    UNIQUE (upload_id, position)
);
