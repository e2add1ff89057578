//! Upload rows, and the changes that move them, each committed with its event. The
//! columns are named once, in [`upload_row`], for both SQL backends.

use std::sync::{Arc, LazyLock};

use shared::{AccountId, ErrorBody, ErrorCode, Upload, UploadId, UploadStatus};
use sqlx::{sqlite::SqliteRow, Row, SqliteConnection};

use super::{checkpoints, log::append_event, SqliteRepo};
use crate::{
    domain::{clock, lifecycle, Change, StoredEvent},
    store::{
        sql::upload_row::{self, upload_from_row, Value},
        ChangeError, StoreError,
    },
};

static INSERT: LazyLock<String> = LazyLock::new(|| {
    let count = upload_row::names().count();
    format!(
        "INSERT INTO uploads ({}, owner_id) VALUES ({}?)",
        *upload_row::SELECT,
        "?, ".repeat(count)
    )
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
        *upload_row::SELECT
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

crate::store::sql::metadata_repo!(SqliteRepo, SqliteRow);

/// The changes, which take SQLite's write lock up front, and the unfinished uploads of a
/// previous run: all of them, this being the one process.
impl SqliteRepo {
    pub(super) async fn insert_upload(
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

    pub(super) async fn record_change(
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

    pub(super) async fn remove_upload(
        &self,
        id: &UploadId,
    ) -> Result<Option<StoredEvent>, StoreError> {
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

    pub(super) async fn unfinished_uploads(&self) -> Result<Vec<(AccountId, Upload)>, StoreError> {
        // Jobs a restart interrupted first: they were already running.
        let rows = sqlx::query(&format!(
            "SELECT {}, COALESCE(owner_id, '') AS owner FROM uploads \
             WHERE status IN ('uploading', 'queued', 'processing') \
             ORDER BY status != 'processing', created_at, id",
            *upload_row::SELECT
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
}
