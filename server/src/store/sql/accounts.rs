//! [`AccountRepo`](crate::store::AccountRepo) on either SQL backend: accounts, sessions
//! and API tokens are plain rows, the same statements on both. Usernames compare without
//! regard to case in the column's own collation (SQLite `NOCASE`, PostgreSQL a
//! case-insensitive ICU collation), so the statements need not lower anything.

/// Implements `AccountRepo` for `$repo` (with a `pool()`, and a `session_ended(hash)`
/// that tells whoever else serves its streams), whose rows are `$row`.
macro_rules! account_repo {
    ($repo:ty, $row:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::AccountRepo for $repo {
            async fn create_user(
                &self,
                username: &str,
                password_hash: &str,
                at: &str,
            ) -> Result<Option<shared::User>, $crate::store::StoreError> {
                let id = uuid::Uuid::now_v7().to_string();
                let inserted = sqlx::query(
                    "INSERT INTO users (id, username, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING",
                )
                .bind(&id)
                .bind(username)
                .bind(password_hash)
                .bind(at)
                .execute(self.pool())
                .await?;
                let id = shared::AccountId::new(id);
                Ok((inserted.rows_affected() == 1)
                    .then(|| shared::User { id, username: username.to_owned() }))
            }

            async fn find_user(
                &self,
                username: &str,
            ) -> Result<Option<(shared::User, String)>, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT id, username, password_hash FROM users WHERE username = $1",
                )
                .bind(username)
                .fetch_optional(self.pool())
                .await?;
                row.map(|row: $row| Ok((user(&row)?, row.try_get("password_hash")?))).transpose()
            }

            async fn create_session(
                &self,
                token_hash: &str,
                account: &shared::AccountId,
                at: &str,
                expires_at: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(token_hash)
                .bind(account.as_str())
                .bind(at)
                .bind(expires_at)
                .execute(self.pool())
                .await?;
                Ok(())
            }

            async fn session_user(
                &self,
                token_hash: &str,
                now: &str,
            ) -> Result<Option<shared::User>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT users.id, users.username FROM sessions \
                     JOIN users ON users.id = sessions.user_id \
                     WHERE sessions.token_hash = $1 AND sessions.expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(self.pool())
                .await?;
                row.as_ref().map(user).transpose()
            }

            async fn delete_session(
                &self,
                token_hash: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(self.pool())
                    .await?;
                self.session_ended(token_hash).await
            }

            async fn delete_expired_sessions(
                &self,
                now: &str,
            ) -> Result<u64, $crate::store::StoreError> {
                let deleted = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(self.pool())
                    .await?;
                Ok(deleted.rows_affected())
            }

            async fn create_api_token(
                &self,
                account: &shared::AccountId,
                token: &shared::ApiToken,
                token_hash: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
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

            async fn api_tokens(
                &self,
                account: &shared::AccountId,
            ) -> Result<Vec<shared::ApiToken>, $crate::store::StoreError> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT id, name, created_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
                )
                .bind(account.as_str())
                .fetch_all(self.pool())
                .await?;
                rows.into_iter()
                    .map(|row: $row| {
                        Ok(shared::ApiToken {
                            id: row.try_get("id")?,
                            name: row.try_get("name")?,
                            created_at: row.try_get("created_at")?,
                        })
                    })
                    .collect()
            }

            async fn delete_api_token(
                &self,
                account: &shared::AccountId,
                id: &str,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                let hash = sqlx::query_scalar(
                    "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 RETURNING token_hash",
                )
                .bind(id)
                .bind(account.as_str())
                .fetch_optional(self.pool())
                .await?;
                Ok(hash)
            }

            async fn api_token_user(
                &self,
                token_hash: &str,
            ) -> Result<Option<shared::User>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT users.id, users.username FROM api_tokens \
                     JOIN users ON users.id = api_tokens.user_id \
                     WHERE api_tokens.token_hash = $1",
                )
                .bind(token_hash)
                .fetch_optional(self.pool())
                .await?;
                row.as_ref().map(user).transpose()
            }
        }

        /// The account a row's `id` and `username` columns name.
        fn user(row: &$row) -> Result<shared::User, $crate::store::StoreError> {
            use sqlx::Row;
            let id = shared::AccountId::new(row.try_get::<String, _>("id")?);
            Ok(shared::User { id, username: row.try_get("username")? })
        }
    };
}

pub(crate) use account_repo;
