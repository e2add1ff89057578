//! Personal API tokens, so a program (a tus client on a server, a script) needs no
//! cookie: a secret made once and shown once, kept only as its SHA-256 like a session,
//! sent as `Authorization: Bearer <token>`, and revoked by its owner at once.

use axum::http::{header, HeaderMap};
use shared::{AccountId, ApiToken, NewApiToken};

use super::session::{new_token, token_hash};
use crate::{
    domain::clock,
    store::{AccountRepo, StoreError},
};

/// What every token starts with, so one pasted where it should not be is recognisable
/// (secret scanners look for prefixes like it).
pub const PREFIX: &str = "uplink_";

/// The most tokens one account may have.
pub const MAX_PER_ACCOUNT: usize = 100;

/// The token an `Authorization: Bearer` header carries, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Why a token could not be made.
#[derive(Debug)]
pub enum Refusal {
    Name(&'static str),
    TooMany,
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Makes a token called `name` for `account`: its secret, this once.
pub async fn create(
    accounts: &dyn AccountRepo,
    account: &AccountId,
    name: &str,
) -> Result<NewApiToken, Refusal> {
    if let Some(problem) = ApiToken::name_problem(name) {
        return Err(Refusal::Name(problem));
    }
    if accounts.api_tokens(account).await?.len() >= MAX_PER_ACCOUNT {
        return Err(Refusal::TooMany);
    }
    let token = ApiToken {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        created_at: clock::now(),
    };
    let secret = format!("{PREFIX}{}", new_token());
    accounts.create_api_token(account, &token, &token_hash(&secret)).await?;
    Ok(NewApiToken { id: token.id, name: token.name, token: secret, created_at: token.created_at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_bearer_token_is_found_whatever_the_scheme_s_case() {
        let mut headers = HeaderMap::new();
        for (value, found) in [
            ("Bearer uplink_abc", Some("uplink_abc")),
            ("bearer uplink_abc ", Some("uplink_abc")),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearer ", None),
            ("Bearer", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer(&headers), found, "{value:?}");
        }
    }
}
