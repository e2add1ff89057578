//! [`AccountRepo`](crate::store::AccountRepo) on the embedded SQLite store: the
//! statements both SQL backends share (`store/sql/accounts.rs`).

use sqlx::sqlite::SqliteRow;

use super::SqliteRepo;

crate::store::sql::account_repo!(SqliteRepo, SqliteRow);
