//! Every route of the API, written once: the server mounts these patterns and the
//! browser fills them in, so a renamed route breaks the build on both sides.

use crate::UploadId;

pub const REGISTER: &str = "/api/auth/register";
pub const LOGIN: &str = "/api/auth/login";
pub const LOGOUT: &str = "/api/auth/logout";
pub const ME: &str = "/api/auth/me";
/// The account's personal API tokens (`GET`), and a new one (`POST`, with a session).
pub const TOKENS: &str = "/api/auth/tokens";
pub const TOKEN: &str = "/api/auth/tokens/{id}";
/// Every upload of the account, live (SSE).
pub const EVENTS: &str = "/api/events";
/// The account's uploads (`GET`), and a new upload (`POST`).
pub const UPLOADS: &str = "/api/uploads";
pub const UPLOAD: &str = "/api/uploads/{id}";
pub const UPLOAD_FILE: &str = "/api/uploads/{id}/file";
pub const UPLOAD_TEXT: &str = "/api/uploads/{id}/text";
pub const UPLOAD_THUMBNAIL: &str = "/api/uploads/{id}/thumbnail";
pub const UPLOAD_TIMELINE: &str = "/api/uploads/{id}/timeline";
/// One upload's events (SSE), to its owner or with an events token.
pub const UPLOAD_EVENTS: &str = "/api/uploads/{id}/events";
pub const UPLOAD_TOKEN: &str = "/api/uploads/{id}/token";
pub const UPLOAD_CANCEL: &str = "/api/uploads/{id}/cancel";
pub const UPLOAD_RETRY: &str = "/api/uploads/{id}/retry";
/// tus 1.0: creation (`POST`), and the server's capabilities (`OPTIONS`).
pub const TUS: &str = "/api/tus";
/// tus 1.0: one resumable upload (`HEAD`, `PATCH`, `DELETE`), by its upload id.
pub const TUS_UPLOAD: &str = "/api/tus/{id}";
pub const HEALTH: &str = "/healthz";

/// `pattern` (one of the `UPLOAD…` routes) for upload `id`.
pub fn of(pattern: &str, id: &UploadId) -> String {
    pattern.replace("{id}", id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_filled_with_the_upload_id() {
        let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap();
        assert_eq!(of(UPLOAD_FILE, &id), "/api/uploads/0191c1d2-6b0e-7a3c-9f00-1234567890ab/file");
        assert_eq!(of(UPLOAD, &id), format!("{UPLOADS}/{id}"));
    }
}
