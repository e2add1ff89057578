//! [`AccountRepo`] on the embedded SQLite store.

use async_trait::async_trait;
use sqlx::{sqlite::SqliteRow, Row};

use super::SqliteRepo;
use shared::{AccountId, ApiToken, User};

use crate::store::{AccountRepo, StoreError};

#[async_trait]
impl AccountRepo for SqliteRepo {
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        at: &str,
    ) -> Result<Option<User>, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(&id)
        .bind(username)
        .bind(password_hash)
        .bind(at)
        .execute(self.pool())
        .await?;
        let id = AccountId::new(id);
        Ok((inserted.rows_affected() == 1).then(|| User { id, username: username.to_owned() }))
    }

    async fn find_user(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| Ok((user(&row)?, row.try_get("password_hash")?))).transpose()
    }

    async fn create_session(
        &self,
        token_hash: &str,
        account: &AccountId,
        at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token_hash)
        .bind(account.as_str())
        .bind(at)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT users.id, users.username FROM sessions JOIN users ON users.id = sessions.user_id \
             WHERE sessions.token_hash = ? AND sessions.expires_at > ?",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user).transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: &str) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(deleted.rows_affected())
    }

    async fn create_api_token(
        &self,
        account: &AccountId,
        token: &ApiToken,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(account.as_str())
        .bind(&token.name)
        .bind(token_hash)
        .bind(&token.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn api_tokens(&self, account: &AccountId) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at FROM api_tokens WHERE user_id = ? ORDER BY id",
        )
        .bind(account.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(ApiToken {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn delete_api_token(
        &self,
        account: &AccountId,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let hash = sqlx::query_scalar(
            "DELETE FROM api_tokens WHERE id = ? AND user_id = ? RETURNING token_hash",
        )
        .bind(id)
        .bind(account.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(hash)
    }

    async fn api_token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT users.id, users.username FROM api_tokens \
             JOIN users ON users.id = api_tokens.user_id WHERE api_tokens.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user).transpose()
    }
}

/// The account a row's `id` and `username` columns name.
fn user(row: &SqliteRow) -> Result<User, StoreError> {
    let id = AccountId::new(row.try_get::<String, _>("id")?);
    Ok(User { id, username: row.try_get("username")? })
}
