-- Each page's extracted text, committed with the event announcing that page: the
-- checkpoint a restarted job resumes from. Assembled into the text blob at the end.
CREATE TABLE page_texts (
    upload_id TEXT NOT NULL,
    page      INTEGER NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (upload_id, page)
) WITHOUT ROWID;
