-- What a resumable (tus) upload adds to its upload. Its offset is the upload's size.
CREATE TABLE resumable_uploads (
    upload_id  TEXT PRIMARY KEY NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    -- NULL while the client defers it.
    length     INTEGER,
    metadata   TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX resumable_by_expiry ON resumable_uploads (expires_at);
