//! Accounts, sessions and personal API tokens: who a request is. A trait, like the other stores, so a
//! Postgres deployment keeps them beside its uploads.

use async_trait::async_trait;
use shared::{AccountId, ApiToken, User};

use super::StoreError;

#[async_trait]
pub trait AccountRepo: Send + Sync + 'static {
    /// Creates an account; `None` when the username is taken (in any letter case).
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        at: &str,
    ) -> Result<Option<User>, StoreError>;

    /// The account called `username` (in any letter case) and its password hash.
    async fn find_user(&self, username: &str) -> Result<Option<(User, String)>, StoreError>;

    async fn create_session(
        &self,
        token_hash: &str,
        account: &AccountId,
        at: &str,
        expires_at: &str,
    ) -> Result<(), StoreError>;

    /// The user of the session with this token hash, if it has not expired by `now`.
    async fn session_user(&self, token_hash: &str, now: &str) -> Result<Option<User>, StoreError>;

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// Forgets sessions that expired by `now`; returns how many.
    async fn delete_expired_sessions(&self, now: &str) -> Result<u64, StoreError>;

    /// Keeps `token` for `account`, by the hash of its secret.
    async fn create_api_token(
        &self,
        account: &AccountId,
        token: &ApiToken,
        token_hash: &str,
    ) -> Result<(), StoreError>;

    /// `account`'s tokens, oldest first.
    async fn api_tokens(&self, account: &AccountId) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes token `id` if it is `account`'s: the hash of its secret, or `None` when
    /// there was no such token of theirs.
    async fn delete_api_token(
        &self,
        account: &AccountId,
        id: &str,
    ) -> Result<Option<String>, StoreError>;

    /// The user of the token whose secret has this hash, if it has not been revoked.
    async fn api_token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError>;
}
