-- The nodes that are alive: each moves its heartbeat's expiry (by its own lease) here.
-- A multipart upload that was arriving on a node whose heartbeat expired can never
-- complete (its client's connection went with the node), and any other node marks it
-- interrupted.
CREATE TABLE nodes (
    id      TEXT PRIMARY KEY,
    expires TIMESTAMPTZ NOT NULL
);

-- The node an upload arrived on.
ALTER TABLE uploads ADD COLUMN node_id TEXT;
