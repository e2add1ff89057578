//! [`MetadataRepo`](crate::store::MetadataRepo) on either SQL backend. Reading uploads
//! and checkpoints is the same statements on both; what differs (how a change takes its
//! locks and its event id, which unfinished uploads a start may end, closing) each
//! backend provides as `insert_upload`, `record_change`, `remove_upload`,
//! `unfinished_uploads`, `existing_ids` and `close_store`.

/// Implements `MetadataRepo` for `$repo` (with a `pool()` and the methods above), whose
/// rows are `$row`.
macro_rules! metadata_repo {
    ($repo:ty, $row:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::MetadataRepo for $repo {
            async fn insert(
                &self,
                owner: &shared::AccountId,
                upload: shared::Upload,
                change: $crate::domain::Change,
            ) -> Result<(shared::Upload, $crate::domain::StoredEvent), $crate::store::ChangeError>
            {
                self.insert_upload(owner, upload, change).await
            }

            async fn record(
                &self,
                id: &shared::UploadId,
                change: $crate::domain::Change,
            ) -> Result<(shared::Upload, $crate::domain::StoredEvent), $crate::store::ChangeError>
            {
                self.record_change(id, change).await
            }

            async fn remove(
                &self,
                id: &shared::UploadId,
            ) -> Result<Option<$crate::domain::StoredEvent>, $crate::store::StoreError> {
                self.remove_upload(id).await
            }

            async fn get(
                &self,
                id: &shared::UploadId,
            ) -> Result<Option<shared::Upload>, $crate::store::StoreError> {
                Ok(owned_upload(self, id).await?.map(|(_, upload)| upload))
            }

            async fn get_owned(
                &self,
                owner: &shared::AccountId,
                id: &shared::UploadId,
            ) -> Result<Option<shared::Upload>, $crate::store::StoreError> {
                Ok(owned_upload(self, id)
                    .await?
                    .filter(|(found, _)| !owner.as_str().is_empty() && *found == owner.as_str())
                    .map(|(_, upload)| upload))
            }

            async fn owner_of(
                &self,
                id: &shared::UploadId,
            ) -> Result<Option<shared::AccountId>, $crate::store::StoreError> {
                // NULL on SQLite for uploads from before accounts: nobody's.
                let owner: Option<Option<String>> =
                    sqlx::query_scalar("SELECT owner_id FROM uploads WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.pool())
                        .await?;
                Ok(owner.flatten().map(shared::AccountId::new))
            }

            async fn list(
                &self,
                owner: &shared::AccountId,
            ) -> Result<Vec<shared::Upload>, $crate::store::StoreError> {
                use $crate::store::sql::upload_row;
                let rows: Vec<$row> = sqlx::query(&format!(
                    "SELECT {} FROM uploads WHERE owner_id = $1 ORDER BY created_at DESC, id DESC",
                    *upload_row::SELECT
                ))
                .bind(owner.as_str())
                .fetch_all(self.pool())
                .await?;
                rows.iter().map(|row| upload_row::upload_from_row(row).map(|(_, u)| u)).collect()
            }

            async fn stored_bytes(
                &self,
                owner: &shared::AccountId,
            ) -> Result<u64, $crate::store::StoreError> {
                let bytes: Option<i64> = sqlx::query_scalar($crate::store::sql::STORED_BYTES)
                .bind(owner.as_str())
                .fetch_one(self.pool())
                .await?;
                Ok(bytes.unwrap_or(0).max(0) as u64)
            }

            async fn unfinished(
                &self,
            ) -> Result<Vec<(shared::AccountId, shared::Upload)>, $crate::store::StoreError> {
                self.unfinished_uploads().await
            }

            async fn pages_done(
                &self,
                id: &shared::UploadId,
            ) -> Result<u32, $crate::store::StoreError> {
                let done: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(page) FROM page_texts WHERE upload_id = $1")
                        .bind(id.as_str())
                        .fetch_one(self.pool())
                        .await?;
                Ok(done.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32)
            }

            async fn page_texts(
                &self,
                id: &shared::UploadId,
                after: u32,
                limit: u32,
            ) -> Result<Vec<(u32, String)>, $crate::store::StoreError> {
                use sqlx::Row;
                let rows: Vec<$row> = sqlx::query(
                    "SELECT page, text FROM page_texts WHERE upload_id = $1 AND page > $2 \
                     ORDER BY page LIMIT $3",
                )
                .bind(id.as_str())
                .bind(i64::from(after))
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get::<i64, _>("page")? as u32, row.try_get("text")?)))
                    .collect()
            }

            async fn existing(
                &self,
                ids: &[shared::UploadId],
            ) -> Result<std::collections::HashSet<shared::UploadId>, $crate::store::StoreError>
            {
                self.existing_ids(ids).await
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(self.pool()).await?;
                Ok(())
            }

            async fn close(&self) -> Result<(), $crate::store::StoreError> {
                self.close_store().await
            }
        }

        /// Upload `id` and its owner (`""` for SQLite's uploads from before accounts).
        async fn owned_upload(
            repo: &$repo,
            id: &shared::UploadId,
        ) -> Result<Option<(String, shared::Upload)>, $crate::store::StoreError> {
            use sqlx::Row;
            use $crate::store::sql::upload_row;
            let row: Option<$row> = sqlx::query(&format!(
                "SELECT {}, COALESCE(owner_id, '') AS owner FROM uploads WHERE id = $1",
                *upload_row::SELECT
            ))
            .bind(id.as_str())
            .fetch_optional(repo.pool())
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some((row.try_get("owner")?, upload_row::upload_from_row(&row)?.1)))
        }
    };
}

pub(crate) use metadata_repo;
