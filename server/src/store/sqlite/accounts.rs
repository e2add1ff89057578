//! [`AccountRepo`](crate::store::AccountRepo) on the embedded SQLite store: the
//! statements both SQL backends share (`store/sql/accounts.rs`).

use sqlx::sqlite::SqliteRow;

use super::SqliteRepo;
use crate::store::StoreError;

impl SqliteRepo {
    /// Nobody else to tell: this process's own streams end through the server's own
    /// broadcast.
    async fn session_ended(&self, _token_hash: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

crate::store::sql::account_repo!(SqliteRepo, SqliteRow);
