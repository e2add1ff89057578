//! The HTTP face of every failure: one status and one stable `{code, message}` each.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use shared::{ErrorBody, ErrorCode};

use crate::store::StoreError;

/// An error a handler returns. Internal details are logged here and never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(ErrorCode, String),
    #[error("no such upload")]
    NotFound,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("the server is shutting down")]
    Unavailable,
    /// Too much work waiting (a queue is full): `503` with `Retry-After`.
    #[error("{message}")]
    Busy { message: String, retry_after_secs: u64 },
    #[error("{0}")]
    TooManyStreams(String),
    #[error("log in first")]
    Unauthenticated,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("that username is taken")]
    UsernameTaken,
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    CrossSite(String),
    #[error("the token is invalid or has expired")]
    InvalidToken,
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("{0}")]
    TooManyUploads(String),
    #[error("{0}")]
    UnsupportedType(String),
    /// The upload's status does not allow the request.
    #[error("{0}")]
    InvalidState(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadRequest(code, message.into())
    }

    fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        match self {
            Self::BadRequest(code, message) => {
                (StatusCode::BAD_REQUEST, ErrorBody::new(*code, message.clone()))
            }
            Self::NotFound | Self::Store(StoreError::NotFound) => {
                (StatusCode::NOT_FOUND, ErrorBody::new(ErrorCode::NotFound, "no such upload"))
            }
            Self::PayloadTooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new(ErrorCode::PayloadTooLarge, message.clone()),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody::new(ErrorCode::Unavailable, "the server is shutting down"),
            ),
            Self::Busy { message, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody::new(ErrorCode::Unavailable, message.clone()),
            ),
            Self::TooManyStreams(message) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorBody::new(ErrorCode::TooManyStreams, message.clone()),
            ),
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new(ErrorCode::Unauthenticated, "log in first"),
            ),
            Self::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new(ErrorCode::InvalidCredentials, "wrong username or password"),
            ),
            Self::UsernameTaken => (
                StatusCode::CONFLICT,
                ErrorBody::new(ErrorCode::UsernameTaken, "that username is taken"),
            ),
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorBody::new(
                    ErrorCode::RateLimited,
                    format!("too many attempts; try again in {retry_after_secs} s"),
                ),
            ),
            Self::CrossSite(message) => {
                (StatusCode::FORBIDDEN, ErrorBody::new(ErrorCode::CrossSite, message.clone()))
            }
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new(ErrorCode::InvalidToken, "the token is invalid or has expired"),
            ),
            // 413 like any other body the server will not store.
            Self::QuotaExceeded(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new(ErrorCode::QuotaExceeded, message.clone()),
            ),
            Self::TooManyUploads(message) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorBody::new(ErrorCode::TooManyUploads, message.clone()),
            ),
            Self::UnsupportedType(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorBody::new(ErrorCode::UnsupportedType, message.clone()),
            ),
            Self::InvalidState(message) => {
                (StatusCode::CONFLICT, ErrorBody::new(ErrorCode::InvalidState, message.clone()))
            }
            Self::Store(_) | Self::Io(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody::new(ErrorCode::Internal, "internal error; see the server log"),
            ),
        }
    }
}

/// The `T` in `error` or in its chain of sources: a body error, say, reaches a handler
/// wrapped by axum, and perhaps by a parser such as multer.
pub fn find_cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            tracing::error!(error = %self, ?status, "request failed");
        } else {
            tracing::info!(code = body.code.as_str(), message = %body.message, "request refused");
        }
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs } | Self::Busy { retry_after_secs, .. } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}
