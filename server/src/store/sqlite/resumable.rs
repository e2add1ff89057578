//! [`ResumableRepo`](crate::store::ResumableRepo) on the embedded SQLite store: the
//! statements both SQL backends share (`store/sql/resumable.rs`).

use sqlx::sqlite::SqliteRow;

use super::SqliteRepo;

crate::store::sql::resumable_repo!(SqliteRepo, SqliteRow);
