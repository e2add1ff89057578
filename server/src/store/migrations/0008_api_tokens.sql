-- Personal API tokens, for programs (`Authorization: Bearer`). Like sessions, stored as
-- the SHA-256 of the secret, so a copy of the database cannot be used to sign in.
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, id);
