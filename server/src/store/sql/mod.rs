//! What the two SQL backends (SQLite embedded, PostgreSQL for several nodes) share:
//! statements written once in the SQL both understand (`$1` placeholders, which sqlx
//! binds by number on SQLite too), stamped onto each backend by a macro, and the upload
//! row's columns. What differs stays in each backend: how a change takes its locks and
//! its event id, and the log's bounds.

mod accounts;
mod resumable;
pub(super) mod upload_row;
mod uploads;

pub(super) use accounts::account_repo;

/// The bytes account `$1` keeps. Only bytes that were stored count: an upload that failed
/// or was cancelled while arriving keeps the size it had reached, but none of its bytes.
/// Stored: every file received whole, the bytes resumable uploads hold so far (they are
/// kept until they finish or expire), and those of partial uploads (tus concatenation).
pub(super) const STORED_BYTES: &str =
    "SELECT CAST((SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner_id = $1 \
       AND (sha256 IS NOT NULL OR (status = 'uploading' \
         AND id IN (SELECT upload_id FROM resumable_uploads)))) \
     + (SELECT COALESCE(SUM(stored), 0) FROM tus_partials WHERE owner_id = $1) \
     AS BIGINT)";
pub(super) use resumable::resumable_repo;
pub(super) use uploads::metadata_repo;
