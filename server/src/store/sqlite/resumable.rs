//! [`ResumableRepo`] on the embedded SQLite store.

use async_trait::async_trait;
use shared::{AccountId, UploadId};
use sqlx::{sqlite::SqliteRow, Row};

use super::SqliteRepo;
use crate::store::{Partial, Resumable, ResumableRepo, StoreError};

#[async_trait]
impl ResumableRepo for SqliteRepo {
    async fn create_resumable(
        &self,
        id: &UploadId,
        resumable: &Resumable,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resumable_uploads (upload_id, length, metadata, expires_at, concat) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(resumable.length.map(|n| n as i64))
        .bind(&resumable.metadata)
        .bind(&resumable.expires_at)
        .bind(&resumable.concat)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn resumable(&self, id: &UploadId) -> Result<Option<Resumable>, StoreError> {
        let row = sqlx::query(
            "SELECT length, metadata, expires_at, concat FROM resumable_uploads \
             WHERE upload_id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| resumable_of(&row)).transpose()
    }

    async fn set_length(&self, id: &UploadId, length: u64) -> Result<bool, StoreError> {
        let mut set = 0;
        for sql in [
            "UPDATE resumable_uploads SET length = ? WHERE upload_id = ? AND length IS NULL",
            "UPDATE tus_partials SET length = ? WHERE id = ? AND length IS NULL",
        ] {
            let done =
                sqlx::query(sql).bind(length as i64).bind(id.as_str()).execute(self.pool()).await?;
            set += done.rows_affected();
        }
        Ok(set == 1)
    }

    async fn set_expiry(&self, id: &UploadId, expires_at: &str) -> Result<(), StoreError> {
        for sql in [
            "UPDATE resumable_uploads SET expires_at = ? WHERE upload_id = ?",
            "UPDATE tus_partials SET expires_at = ? WHERE id = ?",
        ] {
            sqlx::query(sql).bind(expires_at).bind(id.as_str()).execute(self.pool()).await?;
        }
        Ok(())
    }

    async fn unfinished_of(&self, owner: &AccountId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM resumable_uploads r JOIN uploads u ON u.id = r.upload_id \
             WHERE u.owner_id = ?1 AND u.status = 'uploading') \
             + (SELECT COUNT(*) FROM tus_partials WHERE owner_id = ?1)",
        )
        .bind(owner.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(count as u64)
    }

    async fn expired(&self, now: &str) -> Result<Vec<UploadId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM (\
               SELECT r.upload_id AS id, r.expires_at FROM resumable_uploads r \
               JOIN uploads u ON u.id = r.upload_id \
               WHERE r.expires_at <= ?1 AND u.status = 'uploading' \
               UNION ALL SELECT id, expires_at FROM tus_partials WHERE expires_at <= ?1\
             ) ORDER BY expires_at, id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        Ok(ids.iter().filter_map(|id| UploadId::parse(id)).collect())
    }

    async fn create_partial(&self, id: &UploadId, partial: &Partial) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tus_partials \
             (id, owner_id, length, stored, metadata, expires_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(partial.owner.as_str())
        .bind(partial.resumable.length.map(|n| n as i64))
        .bind(partial.stored as i64)
        .bind(&partial.resumable.metadata)
        .bind(&partial.resumable.expires_at)
        .bind(&partial.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn partial(&self, id: &UploadId) -> Result<Option<Partial>, StoreError> {
        let row = sqlx::query(
            "SELECT owner_id, length, stored, metadata, expires_at, created_at, \
             NULL AS concat FROM tus_partials WHERE id = ?",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(Partial {
                owner: AccountId::new(row.try_get::<String, _>("owner_id")?),
                resumable: resumable_of(&row)?,
                stored: row.try_get::<i64, _>("stored")?.max(0) as u64,
                created_at: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn set_partial_stored(&self, id: &UploadId, stored: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE tus_partials SET stored = ? WHERE id = ?")
            .bind(stored as i64)
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn remove_partial(&self, id: &UploadId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM tus_partials WHERE id = ?")
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn resumable_of(row: &SqliteRow) -> Result<Resumable, StoreError> {
    Ok(Resumable {
        length: row.try_get::<Option<i64>, _>("length")?.map(|n| n as u64),
        metadata: row.try_get("metadata")?,
        expires_at: row.try_get("expires_at")?,
        concat: row.try_get("concat")?,
    })
}
