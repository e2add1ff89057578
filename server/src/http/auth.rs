//! `/api/auth/…`: register, log in, log out, and who am I.

use axum::{
    extract::{FromRequestParts, State},
    http::{header, request::Parts, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use shared::ErrorCode;

use super::{extract::Json as JsonBody, listener::ClientAddr};
use crate::{
    auth::{
        password,
        session::{self, clear_cookie, cookie_token, set_cookie, token_hash},
        CurrentUser,
    },
    clock,
    error::ApiError,
    state::AppState,
    store::User,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Usernames: 3 to 32 letters, digits, `.`, `_` or `-`. Passwords: 8 to 1024 bytes
    /// (argon2 takes any length; the cap keeps a request from buying seconds of CPU).
    fn validate(&self) -> Result<(), ApiError> {
        let name_ok = (3..=32).contains(&self.username.len())
            && self.username.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !name_ok {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "a username is 3 to 32 letters, digits, `.`, `_` or `-`",
            ));
        }
        if !(8..=1024).contains(&self.password.len()) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "a password is 8 to 1024 characters",
            ));
        }
        Ok(())
    }
}

/// The client's IP address, when the connection has one (not in router-only tests).
struct Peer(Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<axum::extract::ConnectInfo<ClientAddr>>();
        Ok(Self(addr.map(|info| info.0 .0.ip())))
    }
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    credentials.validate()?;
    let hash = password::hash(credentials.password).await;
    let user = state
        .accounts
        .create_user(&credentials.username, &hash, &clock::now())
        .await?
        .ok_or(ApiError::UsernameTaken)?;
    tracing::info!(user = %user.id, username = %user.username, "account created");
    start_session(&state, &headers, user, StatusCode::CREATED).await
}

async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let name_key = credentials.username.to_ascii_lowercase();
    let peer_key = peer.map(|ip| ip.to_string());
    state.login_limits.by_username.check(&name_key).map_err(rate_limited)?;
    if let Some(key) = &peer_key {
        state.login_limits.by_address.check(key).map_err(rate_limited)?;
    }
    let found = state.accounts.find_user(&credentials.username).await?;
    let (user, stored) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    if !password::verify(credentials.password, stored).await {
        state.login_limits.by_username.fail(&name_key);
        if let Some(key) = &peer_key {
            state.login_limits.by_address.fail(key);
        }
        tracing::info!(username = %credentials.username, ?peer, "login refused");
        return Err(ApiError::InvalidCredentials);
    }
    let user = user.expect("only a known user's password verifies");
    state.login_limits.by_username.clear(&name_key);
    start_session(&state, &headers, user, StatusCode::OK).await
}

fn rate_limited(retry_after_secs: u64) -> ApiError {
    ApiError::RateLimited { retry_after_secs }
}

/// A fresh session for `user`: a new token at every login, so a token planted before
/// login (session fixation) is worthless; a session the request already had ends.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: User,
    status: StatusCode,
) -> Result<Response, ApiError> {
    if let Some(old) = cookie_token(headers) {
        state.end_session(&token_hash(old)).await?;
    }
    let token = session::new_token();
    let ttl = state.config.session_ttl;
    state
        .accounts
        .create_session(&token_hash(&token), &user.id, &clock::now(), &clock::after(ttl))
        .await?;
    let cookie = set_cookie(&token, ttl, state.config.secure_cookies());
    Ok((status, [(header::SET_COOKIE, cookie)], Json(user)).into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = cookie_token(&headers) {
        state.end_session(&token_hash(token)).await?;
    }
    let cookie = clear_cookie(state.config.secure_cookies());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn me(current: CurrentUser) -> Json<User> {
    Json(current.user)
}
