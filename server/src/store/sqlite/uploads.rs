//! Upload rows, and the changes that move them, each committed with its event. The
//! columns are named once, in [`upload_row`], for both SQL backends.

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock},
};

use async_trait::async_trait;
use shared::{AccountId, ErrorBody, ErrorCode, Upload, UploadId, UploadStatus};
use sqlx::{Row, SqliteConnection};

use super::{checkpoints, log::append_event, SqliteRepo};
use crate::{
    domain::{clock, lifecycle, Change, StoredEvent},
    store::{
        sql::upload_row::{self, upload_from_row, Value},
        ChangeError, MetadataRepo, StoreError,
    },
};

/// `id, filename, …`: what every select of an upload reads.
pub(super) static SELECT: LazyLock<String> = LazyLock::new(upload_row::select_list);

static INSERT: LazyLock<String> = LazyLock::new(|| {
    let count = upload_row::names().count();
    format!("INSERT INTO uploads ({}, owner_id) VALUES ({}?)", *SELECT, "?, ".repeat(count))
});

static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> = upload_row::names().map(|name| format!("{name} = ?")).collect();
    format!("UPDATE uploads SET {} WHERE id = ?", set.join(", "))
});

/// An upload and its owner (`""` for uploads from before accounts: nobody's).
async fn fetch_upload(
    conn: &mut SqliteConnection,
    id: &UploadId,
) -> Result<Option<(Arc<str>, Upload)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {}, COALESCE(owner_id, '') AS owner FROM uploads WHERE id = ?",
        *SELECT
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let owner: String = row.try_get("owner")?;
    Ok(Some((owner.into(), upload_from_row(&row)?.1)))
}

/// Writes every column of `upload`: a new row of `new_owner`'s, or (with `None`) an
/// update of the existing one, whose owner never changes.
async fn write_upload(
    conn: &mut SqliteConnection,
    upload: &Upload,
    last_id: i64,
    new_owner: Option<&AccountId>,
) -> Result<(), StoreError> {
    let sql = if new_owner.is_some() { &*INSERT } else { &*UPDATE };
    let mut query = sqlx::query(sql);
    for (_, value) in upload_row::columns(upload, last_id) {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
            Value::Bool(flag) => query.bind(flag),
        };
    }
    query = match new_owner {
        Some(owner) => query.bind(owner.as_str()),
        None => query.bind(upload.id.as_str()),
    };
    query.execute(conn).await?;
    Ok(())
}

#[async_trait]
impl MetadataRepo for SqliteRepo {
    async fn insert(
        &self,
        owner: &AccountId,
        mut upload: Upload,
        change: Change,
    ) -> Result<(Upload, StoredEvent), ChangeError> {
        let at = clock::now();
        let event = lifecycle::apply(&mut upload, change, &at)?;
        let mut tx = self.write_tx().await?;
        let stored = append_event(&mut tx, owner.as_str().into(), &event).await?;
        write_upload(&mut tx, &upload, stored.id, Some(owner)).await?;
        tx.commit().await?;
        Ok((upload, stored))
    }

    async fn record(
        &self,
        id: &UploadId,
        mut change: Change,
    ) -> Result<(Upload, StoredEvent), ChangeError> {
        let page_text = change.page_text.take().zip(change.page);
        let mut tx = self.write_tx().await?;
        let (owner, mut upload) = fetch_upload(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let event = lifecycle::apply(&mut upload, change, &clock::now())?;
        if let Some((text, page)) = page_text {
            checkpoints::store(&mut tx, id, page, &text).await?;
        }
        if upload.status.is_terminal() {
            // The text is assembled (done) or never will be: the checkpoint is spent.
            checkpoints::delete(&mut tx, id).await?;
        }
        let stored = append_event(&mut tx, owner, &event).await?;
        write_upload(&mut tx, &upload, stored.id, None).await?;
        tx.commit().await?;
        Ok((upload, stored))
    }

    async fn remove(&self, id: &UploadId) -> Result<Option<StoredEvent>, StoreError> {
        let mut tx = self.write_tx().await?;
        let (owner, mut upload) = fetch_upload(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let deleted = Change::failed(
            UploadStatus::Cancelled,
            ErrorBody::new(ErrorCode::Deleted, "the upload was deleted"),
        );
        // A finished upload already had its one terminal event; it just disappears.
        let stored = match lifecycle::apply(&mut upload, deleted, &clock::now()) {
            Ok(event) => Some(append_event(&mut tx, owner, &event).await?),
            Err(_) => None,
        };
        sqlx::query("DELETE FROM uploads WHERE id = ?").bind(id.as_str()).execute(&mut *tx).await?;
        checkpoints::delete(&mut tx, id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get(&self, id: &UploadId) -> Result<Option<Upload>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        Ok(fetch_upload(&mut conn, id).await?.map(|(_, upload)| upload))
    }

    async fn get_owned(
        &self,
        owner: &AccountId,
        id: &UploadId,
    ) -> Result<Option<Upload>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        Ok(fetch_upload(&mut conn, id)
            .await?
            .filter(|(found, _)| !owner.as_str().is_empty() && **found == *owner.as_str())
            .map(|(_, upload)| upload))
    }

    async fn owner_of(&self, id: &UploadId) -> Result<Option<AccountId>, StoreError> {
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner_id FROM uploads WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(self.pool())
                .await?;
        Ok(owner.flatten().map(AccountId::new))
    }

    async fn list(&self, owner: &AccountId) -> Result<Vec<Upload>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM uploads WHERE owner_id = ? ORDER BY created_at DESC, id DESC",
            *SELECT
        ))
        .bind(owner.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| upload_from_row(row).map(|(_, u)| u)).collect()
    }

    async fn stored_bytes(&self, owner: &AccountId) -> Result<u64, StoreError> {
        let bytes: Option<i64> = sqlx::query_scalar(
            // Only bytes that were stored count: an upload that failed or was cancelled while
            // arriving keeps the size it had reached, but none of its bytes.
            // Stored: every file received whole, and the bytes resumable uploads hold
            // so far (they sit on disk until they finish or expire).
            // Partial uploads (tus concatenation) hold bytes too.
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM uploads WHERE owner_id = ?1 AND (sha256 IS NOT NULL OR \
             (status = 'uploading' AND id IN (SELECT upload_id FROM resumable_uploads)))) \
             + (SELECT COALESCE(SUM(stored), 0) FROM tus_partials WHERE owner_id = ?1)",
        )
        .bind(owner.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(bytes.unwrap_or(0).max(0) as u64)
    }

    async fn unfinished(&self) -> Result<Vec<(AccountId, Upload)>, StoreError> {
        // Jobs a restart interrupted first: they were already running.
        let rows = sqlx::query(&format!(
            "SELECT {}, COALESCE(owner_id, '') AS owner FROM uploads \
             WHERE status IN ('uploading', 'queued', 'processing') \
             ORDER BY status != 'processing', created_at, id",
            *SELECT
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let owner = AccountId::new(row.try_get::<String, _>("owner")?);
                Ok((owner, upload_from_row(row)?.1))
            })
            .collect()
    }

    async fn pages_done(&self, id: &UploadId) -> Result<u32, StoreError> {
        checkpoints::pages_done(self.pool(), id).await
    }

    async fn page_texts(
        &self,
        id: &UploadId,
        after: u32,
        limit: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        checkpoints::page_texts(self.pool(), id, after, limit).await
    }

    async fn existing(&self, ids: &[UploadId]) -> Result<HashSet<UploadId>, StoreError> {
        self.existing_ids(ids).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        SqliteRepo::ping(self).await
    }

    async fn close(&self) -> Result<(), StoreError> {
        SqliteRepo::close(self).await
    }
}
