//! The error body every failing route and every failed upload carries.

use serde::{Deserialize, Serialize};

/// A stable, machine-readable reason. Clients branch on this, humans read `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed in a way no other code describes.
    InvalidRequest,
    /// The body was not readable `multipart/form-data`.
    InvalidMultipart,
    /// The multipart body had no `file` part.
    MissingFile,
    /// A path segment that should be an upload id is not one.
    InvalidId,
    /// No such upload (or not yours).
    NotFound,
    /// The upload exceeds `UPLINK_MAX_UPLOAD_BYTES`.
    PayloadTooLarge,
    /// The client stopped sending before the upload was complete.
    UploadAborted,
    /// The server stopped while the upload was being received.
    Interrupted,
    /// The file claims to be a PDF but cannot be parsed.
    Corrupt,
    /// The PDF is encrypted and cannot be read without a password.
    Encrypted,
    /// Processing took longer than the job time limit.
    Timeout,
    /// Reading the file needs more memory (a decompression bomb) or deeper nesting than
    /// processing allows.
    TooComplex,
    /// Processing failed for a reason the server logged.
    ProcessingFailed,
    /// The upload was cancelled.
    Cancelled,
    /// The upload was deleted.
    Deleted,
    /// The server is shutting down.
    Unavailable,
    /// Something went wrong on the server; details are in its log, never in the response.
    Internal,
    /// The request needs a session (log in) or a valid token.
    Unauthenticated,
    /// Unknown username or wrong password: deliberately the same answer for both.
    InvalidCredentials,
    /// Registration with a username someone already has.
    UsernameTaken,
    /// Too many attempts; retry after the `Retry-After` header's seconds.
    RateLimited,
    /// A state-changing request from another site, refused whatever its cookies.
    CrossSite,
    /// An events token that is malformed, expired, or for another upload.
    InvalidToken,
    /// The upload would take the account past `UPLINK_USER_QUOTA_BYTES`.
    QuotaExceeded,
    /// The account already has `UPLINK_USER_MAX_IN_FLIGHT` uploads being received.
    TooManyUploads,
    /// The account (or events token) already has `UPLINK_USER_MAX_STREAMS` event
    /// streams open.
    TooManyStreams,
    /// The upload's status does not allow this (cancelling one that already finished).
    InvalidState,
    /// The file's type is not one this server accepts (`UPLINK_ALLOWED_TYPES`).
    UnsupportedType,
    /// Creating an API token needs a logged-in session: a token cannot make another.
    SessionRequired,
    /// A tus PATCH whose bytes do not match its `Upload-Checksum`: they were discarded.
    ChecksumMismatch,
    /// A tus PATCH to a final upload, whose bytes are its partial uploads'.
    FinalUpload,
    /// A download's `Range` starts past the file's last byte.
    RangeNotSatisfiable,
    /// A code this build does not know yet (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire spelling, as used in JSON and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidMultipart => "invalid_multipart",
            Self::MissingFile => "missing_file",
            Self::InvalidId => "invalid_id",
            Self::NotFound => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UploadAborted => "upload_aborted",
            Self::Interrupted => "interrupted",
            Self::Corrupt => "corrupt",
            Self::Encrypted => "encrypted",
            Self::TooComplex => "too_complex",
            Self::Timeout => "timeout",
            Self::ProcessingFailed => "processing_failed",
            Self::Cancelled => "cancelled",
            Self::Deleted => "deleted",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::UsernameTaken => "username_taken",
            Self::RateLimited => "rate_limited",
            Self::CrossSite => "cross_site",
            Self::InvalidToken => "invalid_token",
            Self::QuotaExceeded => "quota_exceeded",
            Self::TooManyUploads => "too_many_uploads",
            Self::TooManyStreams => "too_many_streams",
            Self::InvalidState => "invalid_state",
            Self::UnsupportedType => "unsupported_type",
            Self::SessionRequired => "session_required",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::FinalUpload => "final_upload",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::Unknown => "unknown",
        }
    }

    /// Whether an upload that failed with this code can be retried: processing failed or
    /// was cancelled, and the bytes it needs were all stored.
    pub fn retriable(self) -> bool {
        matches!(
            self,
            Self::Corrupt
                | Self::Encrypted
                | Self::Timeout
                | Self::TooComplex
                | Self::ProcessingFailed
                | Self::Cancelled
        )
    }

    /// The inverse of [`ErrorCode::as_str`]; unknown spellings become [`ErrorCode::Unknown`].
    pub fn parse(s: &str) -> Self {
        ALL.iter().copied().find(|c| c.as_str() == s).unwrap_or(Self::Unknown)
    }
}

const ALL: [ErrorCode; 33] = [
    ErrorCode::InvalidRequest,
    ErrorCode::InvalidMultipart,
    ErrorCode::MissingFile,
    ErrorCode::InvalidId,
    ErrorCode::NotFound,
    ErrorCode::PayloadTooLarge,
    ErrorCode::UploadAborted,
    ErrorCode::Interrupted,
    ErrorCode::Corrupt,
    ErrorCode::Encrypted,
    ErrorCode::Timeout,
    ErrorCode::TooComplex,
    ErrorCode::ProcessingFailed,
    ErrorCode::Cancelled,
    ErrorCode::Deleted,
    ErrorCode::Unavailable,
    ErrorCode::Internal,
    ErrorCode::Unauthenticated,
    ErrorCode::InvalidCredentials,
    ErrorCode::UsernameTaken,
    ErrorCode::RateLimited,
    ErrorCode::CrossSite,
    ErrorCode::InvalidToken,
    ErrorCode::QuotaExceeded,
    ErrorCode::TooManyUploads,
    ErrorCode::TooManyStreams,
    ErrorCode::InvalidState,
    ErrorCode::UnsupportedType,
    ErrorCode::SessionRequired,
    ErrorCode::ChecksumMismatch,
    ErrorCode::FinalUpload,
    ErrorCode::RangeNotSatisfiable,
    ErrorCode::Unknown,
];

/// `{ "code": "...", "message": "..." }`: the body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_wire_spelling() {
        for code in ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), code);
        }
    }

    #[test]
    fn unknown_codes_from_a_newer_server_still_decode() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"code":"a_code_from_the_future","message":"m"}"#).unwrap();
        assert_eq!(body.code, ErrorCode::Unknown);
    }
}
