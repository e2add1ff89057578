-- Every upload and every event belongs to an account. Events carry their owner too, so a
-- replay can be filtered after the upload itself is deleted. Uploads from before
-- accounts existed keep a NULL owner: nobody can see them (remove them with the data
-- directory, or assign them with SQL).
ALTER TABLE uploads ADD COLUMN owner_id TEXT;
ALTER TABLE events ADD COLUMN owner_id TEXT;
CREATE INDEX uploads_by_owner ON uploads (owner_id, created_at DESC, id DESC);
CREATE INDEX events_by_owner ON events (owner_id, seq);
