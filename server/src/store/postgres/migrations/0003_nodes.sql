-- The nodes that are alive: each writes its heartbeat here. An upload that was arriving
-- on a node whose heartbeat stopped can never complete (its client's connection went
-- with the node), and any other node marks it interrupted.
CREATE TABLE nodes (
    id   TEXT PRIMARY KEY,
    seen TIMESTAMPTZ NOT NULL
);

-- The node an upload arrived on.
ALTER TABLE uploads ADD COLUMN node_id TEXT;
