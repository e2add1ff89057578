-- Accounts and their server-side sessions.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    -- Compared without regard to ASCII case: "Ada" and "ada" are one account.
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    -- argon2id, as a PHC string (algorithm, parameters and salt included).
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- A session is stored as the SHA-256 of its cookie value, so a copy of the database
-- cannot be used to log in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
