//! axum's extractors with our error body: a malformed query, path or JSON body gets a
//! `400 {code, message}` like every other refusal, never axum's plain-text rejection.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use shared::ErrorCode;

use super::{error::ApiError, pace::TooSlow, state::AppState};
use crate::{auth::CurrentUser, uploads::find_cause};

/// The logged-in user; `401 unauthenticated` without a valid session cookie.
impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        current_user(&parts.headers, state).await
    }
}

/// The user whose session cookie `headers` carry, or `401 unauthenticated`.
pub async fn current_user(
    headers: &axum::http::HeaderMap,
    state: &AppState,
) -> Result<CurrentUser, ApiError> {
    let user = CurrentUser::from_headers(headers, &*state.accounts).await?;
    user.ok_or(ApiError::Unauthenticated)
}

/// A query string; unreadable ones are `400 invalid_request`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| {
                ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("unreadable query string: {}", rejection.body_text()),
                )
            })
    }
}

/// Path parameters; segments that are not valid UTF-8 are `400 invalid_id` (every path
/// parameter we have is an upload id).
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::bad_request(ErrorCode::InvalidId, "that is not an upload id"))
    }
}

/// A JSON body; anything else is `400 invalid_request` saying what was wrong.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection| match find_cause::<TooSlow>(&rejection) {
                // Cut off for its pace, like any slow request body.
                Some(slow) => ApiError::bad_request(ErrorCode::UploadAborted, slow.to_string()),
                None => ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("unreadable JSON body: {}", rejection.body_text()),
                ),
            })
    }
}
