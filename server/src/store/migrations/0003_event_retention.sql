-- When each event was recorded, so events of long-deleted uploads can be compacted too.
ALTER TABLE events ADD COLUMN recorded_at TEXT;

-- Small facts about the store. `compacted_through`: the highest event id compaction has
-- removed; a client resuming from below it gets a snapshot instead of a replay.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
