//! `/api/auth/…`: register, log in, log out, and who am I.

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use shared::{routes, Credentials, ErrorCode, User};

use super::{client::ClientIp, extract::Json as JsonBody};
use crate::{
    auth::{
        limiter::Refused,
        password,
        session::{self, clear_cookie, cookie_token, set_cookie, token_hash},
        CurrentUser,
    },
    domain::clock,
    http::{error::ApiError, state::AppState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::REGISTER, post(register))
        .route(routes::LOGIN, post(login))
        .route(routes::LOGOUT, post(logout))
        .route(routes::ME, get(me))
}

/// The credentials' shape problem as a `400 invalid_request`.
fn validate(credentials: &Credentials) -> Result<(), ApiError> {
    match credentials.problem() {
        Some(problem) => Err(ApiError::bad_request(ErrorCode::InvalidRequest, problem)),
        None => Ok(()),
    }
}

async fn register(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    validate(&credentials)?;
    let client_key = client.map(|ip| ip.to_string());
    let registrations = &state.account_limits.registrations;
    if let Some(key) = &client_key {
        registrations.attempt(key).await.map_err(refused)?;
    }
    let hash = match state.password_queue.hash(credentials.password).await {
        Ok(hash) => hash,
        // Turned away before anything was done: it does not count.
        Err(full) => {
            if let Some(key) = &client_key {
                registrations.refund(key).await;
            }
            return Err(busy(full));
        }
    };
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
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    // A name or password that could never have been registered costs no hash.
    validate(&credentials)?;
    let limits = &state.account_limits;
    let name_key = credentials.username.to_ascii_lowercase();
    let client_key = client.map(|ip| ip.to_string());
    // Counted before the hash runs, and refunded if the password turns out right. The
    // address first: a client out of attempts cannot fill the table with usernames.
    if let Some(key) = &client_key {
        limits.login_by_address.attempt(key).await.map_err(refused)?;
    }
    if let Err(refusal) = limits.login_by_username.attempt(&name_key).await {
        if let Some(key) = &client_key {
            limits.login_by_address.refund(key).await;
        }
        return Err(refused(refusal));
    }
    let refund_all = || async {
        limits.login_by_username.refund(&name_key).await;
        if let Some(key) = &client_key {
            limits.login_by_address.refund(key).await;
        }
    };
    let found = match state.accounts.find_user(&credentials.username).await {
        Ok(found) => found,
        Err(error) => {
            refund_all().await;
            return Err(error.into());
        }
    };
    let (user, stored) = found.map_or((None, None), |(user, hash)| (Some(user), Some(hash)));
    let verified = match state.password_queue.verify(credentials.password, stored).await {
        Ok(verified) => verified,
        // Not a guess that was checked: it does not count.
        Err(full) => {
            refund_all().await;
            return Err(busy(full));
        }
    };
    if !verified {
        tracing::info!(username = %credentials.username, ?client, "login refused");
        return Err(ApiError::InvalidCredentials);
    }
    let user = user.expect("only a known user's password verifies");
    limits.login_by_username.clear(&name_key).await;
    if let Some(key) = &client_key {
        limits.login_by_address.refund(key).await;
    }
    start_session(&state, &headers, user, StatusCode::OK).await
}

/// The hashing queue is full: come back in a moment.
fn busy(_: password::Busy) -> ApiError {
    ApiError::Busy {
        message: "the server is busy checking passwords; try again shortly".into(),
        retry_after_secs: 1,
    }
}

fn refused(refusal: Refused) -> ApiError {
    match refusal {
        Refused::Wait(retry_after_secs) => ApiError::RateLimited { retry_after_secs },
        Refused::Store(error) => error.into(),
    }
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
