//! [`LimitStore`] on PostgreSQL: attempts in the `attempts` table, places in `places`.
//! Taking a place, and counting bytes against a quota, hold a transaction-scoped advisory
//! lock on the key, so two nodes admitting at once cannot both take the last place.

use std::time::Duration;

use async_trait::async_trait;
use shared::{AccountId, UploadId};

use super::{notify, PgRepo};
use crate::store::{
    limits::{LimitStore, PlaceId},
    StoreError,
};

/// The scope of an account's uploads arriving, whose places count bytes.
pub const UPLOADS: &str = "uploads";

/// Places that count: held by a node whose heartbeat has not expired.
const LIVE: &str = "FROM places p JOIN nodes n ON n.id = p.life AND n.expires > now() \
                    WHERE p.scope = $1 AND p.key = $2";

impl PgRepo {
    /// Serialises everything that counts `scope`'s `key` until the transaction ends.
    async fn lock_key(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        scope: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7))")
            .bind(scope)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl LimitStore for PgRepo {
    async fn attempt(
        &self,
        scope: &'static str,
        key: &str,
        max: u32,
        window: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        // Counted while under `max`; a window that is over starts again at one.
        let counted: Option<i32> = sqlx::query_scalar(
            "INSERT INTO attempts (scope, key, started, count) VALUES ($1, $2, now(), 1) \
             ON CONFLICT (scope, key) DO UPDATE SET \
               started = CASE WHEN attempts.started <= now() - make_interval(secs => $3) \
                 THEN now() ELSE attempts.started END, \
               count = CASE WHEN attempts.started <= now() - make_interval(secs => $3) \
                 THEN 1 ELSE attempts.count + 1 END \
             WHERE attempts.started <= now() - make_interval(secs => $3) OR attempts.count < $4 \
             RETURNING count",
        )
        .bind(scope)
        .bind(key)
        .bind(window.as_secs_f64())
        .bind(i32::try_from(max).unwrap_or(i32::MAX))
        .fetch_optional(self.pool())
        .await?;
        if counted.is_some() {
            return Ok(None);
        }
        let left: Option<f64> = sqlx::query_scalar(
            "SELECT CAST(EXTRACT(EPOCH FROM started + make_interval(secs => $3) - now()) AS FLOAT8) \
             FROM attempts WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(window.as_secs_f64())
        .fetch_optional(self.pool())
        .await?;
        Ok(Some(Duration::from_secs_f64(left.unwrap_or(1.0).max(1.0))))
    }

    async fn refund(&self, scope: &'static str, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE attempts SET count = count - 1 WHERE scope = $1 AND key = $2 AND count > 0",
        )
        .bind(scope)
        .bind(key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn clear(&self, scope: &'static str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM attempts WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn take_place(
        &self,
        scope: &'static str,
        key: &str,
        max: u32,
    ) -> Result<Option<PlaceId>, StoreError> {
        let mut tx = self.pool().begin().await?;
        Self::lock_key(&mut tx, scope, key).await?;
        let held: i64 = sqlx::query_scalar(&format!("SELECT count(*) {LIVE}"))
            .bind(scope)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        if held >= i64::from(max) {
            return Self::finish(tx, Ok(None)).await;
        }
        let id = PlaceId::now_v7();
        sqlx::query("INSERT INTO places (id, scope, key, life) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(scope)
            .bind(key)
            .bind(&self.life)
            .execute(&mut *tx)
            .await?;
        Self::finish(tx, Ok(Some(id))).await
    }

    async fn give_back(&self, place: PlaceId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM places WHERE id = $1")
            .bind(place.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn add_bytes(
        &self,
        place: PlaceId,
        owner: &AccountId,
        n: u64,
        max: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        Self::lock_key(&mut tx, UPLOADS, owner.as_str()).await?;
        let arriving: Option<i64> =
            sqlx::query_scalar(&format!("SELECT CAST(sum(p.bytes) AS BIGINT) {LIVE}"))
                .bind(UPLOADS)
                .bind(owner.as_str())
                .fetch_one(&mut *tx)
                .await?;
        // What the account keeps, read after the lock (an upload stored meanwhile
        // counts), on the transaction's own connection: another one, while this holds
        // its own, could wait for the pool forever.
        let kept: Option<i64> = sqlx::query_scalar(crate::store::sql::STORED_BYTES)
            .bind(owner.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let kept = kept.unwrap_or(0).max(0) as u64;
        let arriving = arriving.unwrap_or(0).max(0) as u64;
        if kept.saturating_add(arriving).saturating_add(n) > max {
            return Self::finish(tx, Ok(false)).await;
        }
        sqlx::query("UPDATE places SET bytes = bytes + $2 WHERE id = $1")
            .bind(place.to_string())
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        Self::finish(tx, Ok(true)).await
    }

    async fn release_bytes(&self, place: PlaceId, n: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE places SET bytes = GREATEST(bytes - $2, 0) WHERE id = $1")
            .bind(place.to_string())
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn ask_to_let_go(&self, upload: &UploadId) -> Result<(), StoreError> {
        notify::let_go(&mut *self.pool().acquire().await?, upload).await
    }

    async fn let_go_of(&self, upload: &UploadId) -> Result<(), StoreError> {
        notify::let_go_of(&mut *self.pool().acquire().await?, upload).await
    }

    async fn arriving(&self, owner: &AccountId) -> Result<u64, StoreError> {
        let arriving: Option<i64> =
            sqlx::query_scalar(&format!("SELECT CAST(sum(p.bytes) AS BIGINT) {LIVE}"))
                .bind(UPLOADS)
                .bind(owner.as_str())
                .fetch_one(self.pool())
                .await?;
        Ok(arriving.unwrap_or(0).max(0) as u64)
    }
}
