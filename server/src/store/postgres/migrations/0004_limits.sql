-- Limits every node shares. Attempts per key in fixed windows (logins by username and by
-- client address, registrations by client address):
CREATE TABLE attempts (
    scope   TEXT NOT NULL,
    key     TEXT NOT NULL,
    started TIMESTAMPTZ NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Places held at once (an account's uploads arriving, its event streams, an events
-- token's streams), each by the node life holding it: a place whose node's heartbeat
-- expired no longer counts. An upload's place also counts the bytes arriving on it.
CREATE TABLE places (
    id    TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    life  TEXT NOT NULL,
    bytes BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX places_by_key ON places (scope, key);
