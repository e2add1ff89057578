-- The job queue every node takes from. A job waits (no claim), or is held by one worker
-- under a claim until its lease runs out; a job whose lease ran out is claimable again,
-- and then every write of the old holder is refused (the store checks the claim).
CREATE SEQUENCE job_arrivals;
CREATE SEQUENCE job_claims;
CREATE SEQUENCE job_turns_given;

CREATE TABLE jobs (
    upload_id   TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    -- Order of arrival: an account's jobs start in this order.
    queued      BIGINT NOT NULL DEFAULT nextval('job_arrivals'),
    claim       BIGINT,
    -- The database's clock, so the nodes' clocks need not agree.
    lease_until TIMESTAMPTZ
);
CREATE INDEX jobs_by_owner ON jobs (owner_id, queued);

-- Accounts take turns across the cluster: the account whose turn was given longest ago
-- goes first, and one that starts waiting takes the last turn.
CREATE TABLE job_turns (
    owner_id TEXT PRIMARY KEY,
    turn     BIGINT NOT NULL
);
