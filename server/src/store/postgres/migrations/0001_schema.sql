-- Uplink's metadata on PostgreSQL, for several nodes: the tables of the embedded SQLite
-- store (../../migrations) as they stand today, in one step. Times are RFC 3339 UTC text,
-- as on the wire and in SQLite, so both backends order and compare them the same way.

-- Usernames compare without regard to case, like SQLite's NOCASE ("Ada" is "ada").
CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT COLLATE case_insensitive NOT NULL UNIQUE,
    -- argon2id, as a PHC string (algorithm, parameters and salt included).
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- Sessions and API tokens are stored as the SHA-256 of their secret.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, id);

CREATE TABLE uploads (
    id            TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL,
    filename      TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT,
    sha256        TEXT,
    status        TEXT NOT NULL,
    stage         TEXT,
    percent       BIGINT NOT NULL,
    pages         BIGINT,
    error_code    TEXT,
    error_message TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    client_ref    TEXT,
    has_text      BOOLEAN NOT NULL DEFAULT false,
    attempt       BIGINT NOT NULL DEFAULT 1,
    width         BIGINT,
    height        BIGINT,
    has_thumbnail BOOLEAN NOT NULL DEFAULT false,
    -- The id of the newest event about this upload (within its owner's ids).
    last_seq      BIGINT NOT NULL
);
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at DESC, id DESC);
CREATE INDEX uploads_by_status ON uploads (status);

-- Each account's event ids. A change takes the next one by updating its account's row,
-- which holds that row's lock until the change commits: the account's ids are
-- contiguous and commit in order, so a reader that saw id N never later finds a smaller
-- one (a sequence would not do: its values commit out of order). `compacted_through`:
-- the highest of the account's ids compaction has removed.
CREATE TABLE event_counters (
    owner_id          TEXT PRIMARY KEY,
    last_id           BIGINT NOT NULL,
    compacted_through BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE events (
    owner_id    TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    upload_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    data        TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (owner_id, seq)
);
CREATE INDEX events_by_upload ON events (upload_id, owner_id, seq);
CREATE INDEX events_by_recorded ON events (recorded_at);

-- A running job's checkpoint: each page's text, committed with the event announcing it.
CREATE TABLE page_texts (
    upload_id TEXT NOT NULL,
    page      BIGINT NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (upload_id, page)
);

-- What a resumable (tus) upload adds to its upload. Its offset is the upload's size.
CREATE TABLE resumable_uploads (
    upload_id  TEXT PRIMARY KEY REFERENCES uploads (id) ON DELETE CASCADE,
    length     BIGINT,
    metadata   TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    concat     TEXT
);
CREATE INDEX resumable_by_expiry ON resumable_uploads (expires_at);

-- tus concatenation's partial uploads: bytes for a final upload still to be made.
CREATE TABLE tus_partials (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    length     BIGINT,
    stored     BIGINT NOT NULL DEFAULT 0,
    metadata   TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX tus_partials_by_owner ON tus_partials (owner_id);
CREATE INDEX tus_partials_by_expiry ON tus_partials (expires_at);

-- Secrets every node must share (the key that signs events tokens), made once by
-- whichever node starts first.
CREATE TABLE cluster_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
