//! [`ResumableRepo`] on the embedded SQLite store.

use async_trait::async_trait;
use shared::{AccountId, UploadId};
use sqlx::Row;

use super::SqliteRepo;
use crate::store::{Resumable, ResumableRepo, StoreError};

#[async_trait]
impl ResumableRepo for SqliteRepo {
    async fn create_resumable(
        &self,
        id: &UploadId,
        resumable: &Resumable,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resumable_uploads (upload_id, length, metadata, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(resumable.length.map(|n| n as i64))
        .bind(&resumable.metadata)
        .bind(&resumable.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn resumable(&self, id: &UploadId) -> Result<Option<Resumable>, StoreError> {
        let row = sqlx::query(
            "SELECT length, metadata, expires_at FROM resumable_uploads WHERE upload_id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Resumable {
                length: row.try_get::<Option<i64>, _>("length")?.map(|n| n as u64),
                metadata: row.try_get("metadata")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn set_length(&self, id: &UploadId, length: u64) -> Result<bool, StoreError> {
        let set = sqlx::query(
            "UPDATE resumable_uploads SET length = ? WHERE upload_id = ? AND length IS NULL",
        )
        .bind(length as i64)
        .bind(id.as_str())
        .execute(self.pool())
        .await?;
        Ok(set.rows_affected() == 1)
    }

    async fn set_expiry(&self, id: &UploadId, expires_at: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE resumable_uploads SET expires_at = ? WHERE upload_id = ?")
            .bind(expires_at)
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn unfinished_of(&self, owner: &AccountId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM resumable_uploads r JOIN uploads u ON u.id = r.upload_id \
             WHERE u.owner_id = ? AND u.status = 'uploading'",
        )
        .bind(owner.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(count as u64)
    }

    async fn expired(&self, now: &str) -> Result<Vec<UploadId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT r.upload_id FROM resumable_uploads r JOIN uploads u ON u.id = r.upload_id \
             WHERE r.expires_at <= ? AND u.status = 'uploading' ORDER BY r.expires_at",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        Ok(ids.iter().filter_map(|id| UploadId::parse(id)).collect())
    }
}
