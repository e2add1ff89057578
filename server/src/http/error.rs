//! The HTTP face of every failure: one status and one stable `{code, message}` each.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use shared::{ErrorBody, ErrorCode};

use crate::{
    domain::Refused,
    store::{ChangeError, StoreError},
    uploads::UploadError,
};

/// An error a handler returns. Internal details are logged here and never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no such upload")]
    NotFound,
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
    /// The request was refused with this code; its status follows from the code
    /// ([`status_of`]): `400` unless the code says otherwise.
    #[error("{1}")]
    Rejected(ErrorCode, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Rejected(code, message.into())
    }

    fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        match self {
            Self::NotFound | Self::Store(StoreError::NotFound) => {
                (StatusCode::NOT_FOUND, ErrorBody::new(ErrorCode::NotFound, "no such upload"))
            }
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
            Self::Rejected(code, message) => {
                (status_of(*code), ErrorBody::new(*code, message.clone()))
            }
            Self::Store(_) | Self::Io(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody::new(ErrorCode::Internal, "internal error; see the server log"),
            ),
        }
    }
}

/// The status of a refusal with `code`, for the codes a domain module refuses with.
fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        // 413 like any other body the server will not store.
        ErrorCode::PayloadTooLarge | ErrorCode::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::TooManyUploads => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        ErrorCode::InvalidState => StatusCode::CONFLICT,
        ErrorCode::SessionRequired | ErrorCode::FinalUpload => StatusCode::FORBIDDEN,
        // tus's own status for it ("Checksum Mismatch").
        ErrorCode::ChecksumMismatch => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The one place a refusal by the lifecycle rules becomes an answer: `409 invalid_state`.
impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        Self::Rejected(ErrorCode::InvalidState, refused.to_string())
    }
}

impl From<ChangeError> for ApiError {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::Refused(refused) => refused.into(),
            ChangeError::Store(store) => store.into(),
        }
    }
}

impl From<UploadError> for ApiError {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::Rejected(code, message) => Self::Rejected(code, message),
            UploadError::NotFound => Self::NotFound,
            UploadError::Refused(refused) => refused.into(),
            UploadError::Store(store) => store.into(),
            UploadError::Io(io) => io.into(),
        }
    }
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
