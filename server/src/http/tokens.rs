//! `/api/auth/tokens…`: a person's personal API tokens for their programs. Made with a
//! session only (a token cannot make another); listed without their secrets; revoked at
//! once, which also ends the event streams opened with them.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get},
    Json, Router,
};
use shared::{routes, ApiToken, ErrorCode, TokenRequest};

use super::extract::{Json as JsonBody, Path};
use crate::{
    auth::{
        api_token::{self, Refusal, MAX_PER_ACCOUNT},
        CurrentUser, Via,
    },
    http::{error::ApiError, state::AppState},
};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::TOKENS, get(list).post(create)).route(routes::TOKEN, delete(revoke))
}

async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    if current.via != Via::Session {
        return Err(ApiError::Rejected(
            ErrorCode::SessionRequired,
            "log in to make an API token: a token cannot make another".into(),
        ));
    }
    let made = api_token::create(&*state.accounts, current.id(), &request.name).await;
    let made = made.map_err(|refusal| match refusal {
        Refusal::Name(problem) => ApiError::bad_request(ErrorCode::InvalidRequest, problem),
        Refusal::TooMany => ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("an account has at most {MAX_PER_ACCOUNT} API tokens; revoke one first"),
        ),
        Refusal::Store(e) => e.into(),
    })?;
    tracing::info!(user = %current.id(), token = %made.id, name = %made.name, "API token made");
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.accounts.api_tokens(current.id()).await?))
}

async fn revoke(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Another account's token is a 404, like one that does not exist.
    let hash = state.accounts.delete_api_token(current.id(), &id).await?;
    let hash = hash.ok_or(ApiError::Rejected(ErrorCode::NotFound, "no such token".into()))?;
    tracing::info!(user = %current.id(), token = %id, "API token revoked");
    // Its open event streams end now, as a logged-out session's do.
    state.end_session(&hash).await?;
    Ok(StatusCode::NO_CONTENT)
}
