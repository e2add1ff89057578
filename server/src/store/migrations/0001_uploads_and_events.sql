-- Uploads and the durable event log. Times are RFC 3339 text, as on the wire.
CREATE TABLE uploads (
    id            TEXT PRIMARY KEY NOT NULL,
    filename      TEXT NOT NULL,
    size          INTEGER NOT NULL,
    content_type  TEXT,
    sha256        TEXT,
    status        TEXT NOT NULL,
    stage         TEXT,
    percent       INTEGER NOT NULL,
    pages         INTEGER,
    error_code    TEXT,
    error_message TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    client_ref    TEXT,
    has_text      INTEGER NOT NULL DEFAULT 0,
    -- id of the newest event about this upload
    last_seq      INTEGER NOT NULL
);
CREATE INDEX uploads_by_created ON uploads (created_at DESC, id DESC);
CREATE INDEX uploads_by_status ON uploads (status);

-- AUTOINCREMENT: an event id is never reused, even after the newest events are deleted.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id TEXT NOT NULL,
    name      TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX events_by_upload ON events (upload_id, seq);
