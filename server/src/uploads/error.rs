//! How an operation on uploads fails, in the domain's words: the HTTP layer alone turns
//! these into statuses (`http/error.rs`).

use shared::{ErrorBody, ErrorCode};

use crate::{
    domain::Refused,
    store::{ChangeError, StoreError},
};

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The request breaks a rule (a malformed form, a file too large, a quota); its code
    /// says which.
    #[error("{1}")]
    Rejected(ErrorCode, String),
    /// No such upload, or another account's.
    #[error("no such upload")]
    NotFound,
    /// The lifecycle rules refused the change (a cancel of a finished upload, say).
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl UploadError {
    pub fn rejected(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Rejected(code, message.into())
    }

    /// What the upload's own `error` event says about this failure: a rejection in its
    /// own words, anything else without the server's internals.
    pub fn body(&self) -> ErrorBody {
        match self {
            Self::Rejected(code, message) => ErrorBody::new(*code, message.clone()),
            Self::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => ErrorBody::new(
                ErrorCode::Internal,
                "the server has no room left to store the upload",
            ),
            _ => ErrorBody::new(ErrorCode::Internal, "the upload could not be stored"),
        }
    }
}

impl From<ChangeError> for UploadError {
    fn from(error: ChangeError) -> Self {
        match error {
            ChangeError::Refused(refused) => Self::Refused(refused),
            ChangeError::Store(StoreError::NotFound) => Self::NotFound,
            ChangeError::Store(store) => Self::Store(store),
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
