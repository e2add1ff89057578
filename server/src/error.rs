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
            Self::Store(_) | Self::Io(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody::new(ErrorCode::Internal, "internal error; see the server log"),
            ),
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
        (status, Json(body)).into_response()
    }
}
