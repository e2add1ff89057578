//! Accounts on the wire: who an account is, what logging in sends, and the events token
//! that lets another client follow one upload.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An account's id: opaque, stable, never its username. A type of its own, so an account
/// can never be passed where a session token or a username belongs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account, as `GET /api/auth/me`, login and registration answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: AccountId,
    pub username: String,
}

/// What `POST /api/auth/login` and `/register` take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    /// What is wrong with them, in words for the person typing; `None` when nothing is.
    /// Usernames: 3 to 32 letters, digits, `.`, `_` or `-`. Passwords: 8 to 1024 bytes
    /// (argon2 takes any length; the cap keeps a request from buying seconds of CPU).
    pub fn problem(&self) -> Option<&'static str> {
        let name_ok = (3..=32).contains(&self.username.len())
            && self.username.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !name_ok {
            return Some("a username is 3 to 32 letters, digits, `.`, `_` or `-`");
        }
        if !(8..=1024).contains(&self.password.len()) {
            return Some("a password is 8 to 1024 characters");
        }
        None
    }
}

/// What `POST /api/uploads/{id}/token` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsToken {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The events route with the token in place: hand this to the other client.
    pub events_url: String,
}

/// A personal API token, as `GET /api/auth/tokens` lists it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
}

impl ApiToken {
    /// What is wrong with a token's name; `None` when nothing is. 1 to 64 characters,
    /// none of them control characters.
    pub fn name_problem(name: &str) -> Option<&'static str> {
        let length = name.chars().count();
        if !(1..=64).contains(&length) || name.chars().any(char::is_control) || name.trim() != name
        {
            return Some(
                "a token's name is 1 to 64 characters, without leading or trailing spaces",
            );
        }
        None
    }
}

/// What `POST /api/auth/tokens` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub name: String,
}

/// What `POST /api/auth/tokens` answers: the token, with its secret, this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub id: String,
    pub name: String,
    /// `Authorization: Bearer <token>`. Only its hash is kept.
    pub token: String,
    pub created_at: String,
}
