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
pub(super) use resumable::resumable_repo;
pub(super) use uploads::metadata_repo;
