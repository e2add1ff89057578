-- Images get their dimensions and, when they could be decoded, a thumbnail blob.
ALTER TABLE uploads ADD COLUMN width INTEGER;
ALTER TABLE uploads ADD COLUMN height INTEGER;
ALTER TABLE uploads ADD COLUMN has_thumbnail INTEGER NOT NULL DEFAULT 0;
