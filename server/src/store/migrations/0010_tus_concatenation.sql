-- tus concatenation. A final upload keeps the `Upload-Concat` it was made with, for HEAD
-- to answer. A partial upload is not an upload: it is never listed and sends no events,
-- only bytes that a final upload takes over, so it has a table of its own.
ALTER TABLE resumable_uploads ADD COLUMN concat TEXT;

CREATE TABLE tus_partials (
    id         TEXT PRIMARY KEY NOT NULL,
    owner_id   TEXT NOT NULL,
    -- NULL while the client defers it.
    length     INTEGER,
    -- The bytes durably stored: where the next PATCH goes on.
    stored     INTEGER NOT NULL DEFAULT 0,
    metadata   TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX tus_partials_by_owner ON tus_partials (owner_id);
CREATE INDEX tus_partials_by_expiry ON tus_partials (expires_at);
