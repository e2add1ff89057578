-- Retrying a failed or cancelled upload starts its next attempt: events and progress
-- are ordered within an attempt, and a new attempt starts again from 0 percent.
ALTER TABLE uploads ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
