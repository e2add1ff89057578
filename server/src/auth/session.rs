//! Sessions: a random token in an `HttpOnly`, `SameSite=Lax` cookie, stored server-side
//! only as its SHA-256, and the extractor that turns a request's cookie (or, for
//! programs, its `Authorization: Bearer` API token) into its user.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::http::{header, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use shared::{AccountId, User};

use super::api_token;
use crate::{
    domain::clock,
    store::{AccountRepo, StoreError},
};

pub const SESSION_COOKIE: &str = "uplink_session";

/// 256 random bits, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session token a request carries, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that stores `token` for `max_age`.
pub fn set_cookie(token: &str, max_age: Duration, secure: bool) -> HeaderValue {
    cookie(token, max_age.as_secs(), secure)
}

/// The `Set-Cookie` value that makes the browser forget its session.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    ))
    .expect("a hex token makes a valid header")
}

/// The logged-in user of a request (as an extractor, `http` rejects a request without
/// one with `401 unauthenticated`).
pub struct CurrentUser {
    pub user: User,
    /// The hash of the session token (or API token) the request carried: what a logout
    /// (or a revocation) ends.
    pub session: String,
    pub via: Via,
}

/// How a request showed who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A session cookie: a person, logged in.
    Session,
    /// A personal API token: a program.
    ApiToken,
}

impl CurrentUser {
    /// The account the request acts for.
    pub fn id(&self) -> &AccountId {
        &self.user.id
    }

    /// The user whose session cookie `headers` carry, if any and still valid; otherwise
    /// the user of the API token they carry, if any and not revoked.
    pub async fn from_headers(
        headers: &HeaderMap,
        accounts: &dyn AccountRepo,
    ) -> Result<Option<Self>, StoreError> {
        if let Some(token) = cookie_token(headers) {
            let session = token_hash(token);
            if let Some(user) = accounts.session_user(&session, &clock::now()).await? {
                return Ok(Some(Self { user, session, via: Via::Session }));
            }
        }
        let Some(token) = api_token::bearer(headers) else { return Ok(None) };
        let session = token_hash(token);
        let user = accounts.api_token_user(&session).await?;
        Ok(user.map(|user| Self { user, session, via: Via::ApiToken }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark; uplink_session=abc"));
        assert_eq!(cookie_token(&headers), Some("abc"));
        headers.clear();
        headers.append(header::COOKIE, HeaderValue::from_static("uplink_session_x=1; a=b"));
        assert_eq!(cookie_token(&headers), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_when_asked() {
        let plain = set_cookie("t", Duration::from_secs(60), false);
        assert_eq!(plain, "uplink_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax");
        let secure = clear_cookie(true);
        assert_eq!(secure, "uplink_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
