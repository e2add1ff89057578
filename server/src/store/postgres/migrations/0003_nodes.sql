-- The nodes that are alive, one row per life (a name and an id of one start): each moves
-- its heartbeat's expiry (by its own lease) here.
-- A multipart upload that was arriving on a node whose heartbeat expired can never
-- complete (its client's connection went with the node), and any other node marks it
-- interrupted.
CREATE TABLE nodes (
    id      TEXT PRIMARY KEY,
    expires TIMESTAMPTZ NOT NULL
);

-- The node (its life) an upload arrived on.
ALTER TABLE uploads ADD COLUMN node_id TEXT;
