-- Events: one row per change of a process, written in the transaction that makes the change,
-- so the live stream and webhooks see every change exactly once and in order (ids grow in
-- commit order). `process` is the process as it was right after the change, as JSON; `user_id`
-- is its owner, so a user's stream is an index range.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    process_id BIGINT NOT NULL,
    user_id TEXT,
    kind TEXT NOT NULL,
    time BIGINT NOT NULL,
    process TEXT NOT NULL
);
CREATE INDEX events_user ON events (user_id, id);
CREATE INDEX events_time ON events (time);

-- Webhooks: a user's subscription to the events of their processes (an administrator's may
-- cover every process). The secret signs each delivery, so it is kept as given.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    -- Where the subscriber reached this service: the links in its deliveries point there.
    base_url TEXT NOT NULL,
    all_processes BOOLEAN NOT NULL DEFAULT FALSE,
    creation_time BIGINT NOT NULL,
    -- The newest event when it was created: it is sent only the events after.
    after_event BIGINT NOT NULL
);
CREATE INDEX webhooks_user ON webhooks (user_id, id);

CREATE TABLE webhook_events (
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    PRIMARY KEY (kind, webhook_id)
);
CREATE INDEX webhook_events_webhook ON webhook_events (webhook_id);

-- How far the outbox is filled: every event up to `last_event` has its deliveries queued.
-- Event ids follow commit order, so nothing committed later can fall behind it.
CREATE TABLE webhook_cursor (
    id INTEGER PRIMARY KEY NOT NULL,
    last_event BIGINT NOT NULL
);
INSERT INTO webhook_cursor (id, last_event) VALUES (1, 0);

-- The outbox: one row per (webhook, event), queued by the sender from the events table.
-- state: pending | delivered | failed. A webhook's deliveries of one process go out in id
-- order, one at a time.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    process_id BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_time BIGINT NOT NULL,
    next_attempt BIGINT NOT NULL,
    last_attempt BIGINT,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, process_id, state, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
