//! [`ResumableRepo`](crate::store::ResumableRepo) on either SQL backend: a resumable
//! upload's own facts and the partial uploads of tus concatenation are plain rows, the
//! same statements on both.

/// Implements `ResumableRepo` for `$repo` (with a `pool()`), whose rows are `$row`.
macro_rules! resumable_repo {
    ($repo:ty, $row:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ResumableRepo for $repo {
            async fn create_resumable(
                &self,
                id: &shared::UploadId,
                resumable: &$crate::store::Resumable,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO resumable_uploads (upload_id, length, metadata, expires_at, concat) \
                     VALUES ($1, $2, $3, $4, $5)",
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

            async fn resumable(
                &self,
                id: &shared::UploadId,
            ) -> Result<Option<$crate::store::Resumable>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT length, metadata, expires_at, concat FROM resumable_uploads \
                     WHERE upload_id = $1",
                )
                .bind(id.as_str())
                .fetch_optional(self.pool())
                .await?;
                row.map(|row: $row| resumable_of(&row)).transpose()
            }

            async fn set_length(
                &self,
                id: &shared::UploadId,
                length: u64,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut set = 0;
                for sql in [
                    "UPDATE resumable_uploads SET length = $1 WHERE upload_id = $2 AND length IS NULL",
                    "UPDATE tus_partials SET length = $1 WHERE id = $2 AND length IS NULL",
                ] {
                    let done = sqlx::query(sql)
                        .bind(length as i64)
                        .bind(id.as_str())
                        .execute(self.pool())
                        .await?;
                    set += done.rows_affected();
                }
                Ok(set == 1)
            }

            async fn set_expiry(
                &self,
                id: &shared::UploadId,
                expires_at: &str,
            ) -> Result<(), $crate::store::StoreError> {
                for sql in [
                    "UPDATE resumable_uploads SET expires_at = $1 WHERE upload_id = $2",
                    "UPDATE tus_partials SET expires_at = $1 WHERE id = $2",
                ] {
                    sqlx::query(sql).bind(expires_at).bind(id.as_str()).execute(self.pool()).await?;
                }
                Ok(())
            }

            async fn unfinished_of(
                &self,
                owner: &shared::AccountId,
            ) -> Result<u64, $crate::store::StoreError> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM resumable_uploads r \
                       JOIN uploads u ON u.id = r.upload_id \
                       WHERE u.owner_id = $1 AND u.status = 'uploading') \
                     + (SELECT COUNT(*) FROM tus_partials WHERE owner_id = $1)",
                )
                .bind(owner.as_str())
                .fetch_one(self.pool())
                .await?;
                Ok(count as u64)
            }

            async fn expired(
                &self,
                now: &str,
            ) -> Result<Vec<shared::UploadId>, $crate::store::StoreError> {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM (\
                       SELECT r.upload_id AS id, r.expires_at FROM resumable_uploads r \
                       JOIN uploads u ON u.id = r.upload_id \
                       WHERE r.expires_at <= $1 AND u.status = 'uploading' \
                       UNION ALL SELECT id, expires_at FROM tus_partials WHERE expires_at <= $1\
                     ) AS expiring ORDER BY expires_at, id",
                )
                .bind(now)
                .fetch_all(self.pool())
                .await?;
                Ok(ids.iter().filter_map(|id| shared::UploadId::parse(id)).collect())
            }

            async fn create_partial(
                &self,
                id: &shared::UploadId,
                partial: &$crate::store::Partial,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO tus_partials \
                     (id, owner_id, length, stored, metadata, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

            async fn partial(
                &self,
                id: &shared::UploadId,
            ) -> Result<Option<$crate::store::Partial>, $crate::store::StoreError> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT owner_id, length, stored, metadata, expires_at, created_at, \
                     CAST(NULL AS TEXT) AS concat FROM tus_partials WHERE id = $1",
                )
                .bind(id.as_str())
                .fetch_optional(self.pool())
                .await?;
                row.map(|row: $row| {
                    Ok($crate::store::Partial {
                        owner: shared::AccountId::new(row.try_get::<String, _>("owner_id")?),
                        resumable: resumable_of(&row)?,
                        stored: row.try_get::<i64, _>("stored")?.max(0) as u64,
                        created_at: row.try_get("created_at")?,
                    })
                })
                .transpose()
            }

            async fn set_partial_stored(
                &self,
                id: &shared::UploadId,
                stored: u64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("UPDATE tus_partials SET stored = $1 WHERE id = $2")
                    .bind(stored as i64)
                    .bind(id.as_str())
                    .execute(self.pool())
                    .await?;
                Ok(())
            }

            async fn remove_partial(
                &self,
                id: &shared::UploadId,
            ) -> Result<bool, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM tus_partials WHERE id = $1")
                    .bind(id.as_str())
                    .execute(self.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        fn resumable_of(row: &$row) -> Result<$crate::store::Resumable, $crate::store::StoreError> {
            use sqlx::Row;
            Ok($crate::store::Resumable {
                length: row.try_get::<Option<i64>, _>("length")?.map(|n| n as u64),
                metadata: row.try_get("metadata")?,
                expires_at: row.try_get("expires_at")?,
                concat: row.try_get("concat")?,
            })
        }
    };
}

pub(crate) use resumable_repo;
