//! Upload rows on PostgreSQL, and the changes that move them, each committed with its
//! event and the running job's checkpoint. A change locks its upload's row first
//! (`FOR UPDATE`), so two nodes changing one upload take turns instead of one
//! overwriting the other's change; a job's change is fenced by its claim.

use std::{
    collections::HashSet,
    sync::{Arc, LazyLock},
};

use shared::{AccountId, ErrorBody, ErrorCode, Upload, UploadId, UploadStatus};
use sqlx::{postgres::PgRow, PgConnection, Row};

use super::{log::append_event, PgRepo};
use crate::{
    domain::{clock, lifecycle, Change, Refused, StoredEvent},
    store::{
        sql::upload_row::{self, upload_from_row, Value},
        ChangeError, StoreError,
    },
};

/// A new upload row: every column, then its owner and the node life receiving it.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let count = upload_row::names().count() + 2;
    let placeholders: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO uploads ({}, owner_id, node_id) VALUES ({})",
        *upload_row::SELECT,
        placeholders.join(", ")
    )
});

/// An upload row's every column, by id (the last placeholder).
static UPDATE: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> =
        upload_row::names().enumerate().map(|(n, name)| format!("{name} = ${}", n + 1)).collect();
    format!("UPDATE uploads SET {} WHERE id = ${}", set.join(", "), set.len() + 1)
});

/// An upload and its owner, its row locked until the transaction ends when `lock`.
async fn fetch_upload(
    conn: &mut PgConnection,
    id: &UploadId,
    lock: bool,
) -> Result<Option<(Arc<str>, Upload)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {}, owner_id FROM uploads WHERE id = $1{}",
        *upload_row::SELECT,
        if lock { " FOR UPDATE" } else { "" }
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let owner: String = row.try_get("owner_id")?;
    Ok(Some((owner.into(), upload_from_row(&row)?.1)))
}

/// Writes every column of `upload`: a new row of `new.0`'s arriving on node `new.1`, or
/// (with `None`) an update of the existing one, whose owner and node never change.
async fn write_upload(
    conn: &mut PgConnection,
    upload: &Upload,
    last_id: i64,
    new: Option<(&AccountId, &str)>,
) -> Result<(), StoreError> {
    let sql = if new.is_some() { &*INSERT } else { &*UPDATE };
    let mut query = sqlx::query(sql);
    for (_, value) in upload_row::columns(upload, last_id) {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
            Value::Bool(flag) => query.bind(flag),
        };
    }
    query = match new {
        Some((owner, node)) => query.bind(owner.as_str()).bind(node),
        None => query.bind(upload.id.as_str()),
    };
    query.execute(conn).await?;
    Ok(())
}

async fn drop_checkpoint(conn: &mut PgConnection, id: &UploadId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM page_texts WHERE upload_id = $1")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

crate::store::sql::metadata_repo!(PgRepo, PgRow);

/// The changes, each locking its upload's row first, and the unfinished uploads a node
/// may end: those of nodes whose heartbeat expired.
impl PgRepo {
    pub(super) async fn insert_upload(
        &self,
        owner: &AccountId,
        mut upload: Upload,
        change: Change,
    ) -> Result<(Upload, StoredEvent), ChangeError> {
        let event = lifecycle::apply(&mut upload, change, &clock::now())?;
        let mut tx = self.pool().begin().await?;
        let outcome = async {
            let stored = append_event(&mut tx, owner.as_str().into(), &event).await?;
            write_upload(&mut tx, &upload, stored.id, Some((owner, &self.life))).await?;
            Ok::<_, StoreError>(stored)
        }
        .await;
        Ok((upload, PgRepo::finish(tx, outcome).await?))
    }

    pub(super) async fn record_change(
        &self,
        id: &UploadId,
        mut change: Change,
    ) -> Result<(Upload, StoredEvent), ChangeError> {
        let page_text = change.page_text.take().zip(change.page);
        let mut tx = self.pool().begin().await?;
        let outcome = async {
            let (owner, mut upload) =
                fetch_upload(&mut tx, id, true).await?.ok_or(StoreError::NotFound)?;
            if let Some(claim) = change.claim {
                // Shared with the claim it checks: a claim being made meanwhile skips the job
                // (and takes it later), and a claim made since refuses this change, the job
                // being the new holder's alone.
                let held: Option<Option<i64>> =
                    sqlx::query_scalar("SELECT claim FROM jobs WHERE upload_id = $1 FOR SHARE")
                        .bind(id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                if held.flatten() != Some(claim as i64) {
                    return Err(Refused::Finished.into());
                }
            }
            let event = lifecycle::apply(&mut upload, change, &clock::now())?;
            if let Some((text, page)) = page_text {
                sqlx::query(
                    "INSERT INTO page_texts (upload_id, page, text) VALUES ($1, $2, $3) \
                 ON CONFLICT (upload_id, page) DO UPDATE SET text = excluded.text",
                )
                .bind(id.as_str())
                .bind(i64::from(page))
                .bind(&text)
                .execute(&mut *tx)
                .await?;
            }
            if upload.status.is_terminal() {
                // The text is assembled (done) or never will be: the checkpoint is spent.
                drop_checkpoint(&mut tx, id).await?;
            }
            let stored = append_event(&mut tx, owner, &event).await?;
            write_upload(&mut tx, &upload, stored.id, None).await?;
            Ok((upload, stored))
        }
        .await;
        PgRepo::finish(tx, outcome).await
    }

    pub(super) async fn remove_upload(
        &self,
        id: &UploadId,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let outcome = async {
            let (owner, mut upload) =
                fetch_upload(&mut tx, id, true).await?.ok_or(StoreError::NotFound)?;
            let deleted = Change::failed(
                UploadStatus::Cancelled,
                ErrorBody::new(ErrorCode::Deleted, "the upload was deleted"),
            );
            // A finished upload already had its one terminal event; it just disappears.
            let stored = match lifecycle::apply(&mut upload, deleted, &clock::now()) {
                Ok(event) => Some(append_event(&mut tx, owner, &event).await?),
                Err(_) => None,
            };
            sqlx::query("DELETE FROM uploads WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            drop_checkpoint(&mut tx, id).await?;
            Ok(stored)
        }
        .await;
        PgRepo::finish(tx, outcome).await
    }

    pub(super) async fn unfinished_uploads(&self) -> Result<Vec<(AccountId, Upload)>, StoreError> {
        // Those arriving only if they arrived on a node (or an earlier life of this one)
        // whose heartbeat expired a lease ago: a live node is still receiving the rest,
        // this one included (the server asks again while it runs, for other nodes'
        // leftovers). This node beats first, and the lease of grace spares the nodes
        // that could not beat while the database was away, as this one could not.
        self.beat().await?;
        let rows = sqlx::query(&format!(
            "SELECT {}, owner_id FROM uploads u \
             WHERE status IN ('queued', 'processing') OR (status = 'uploading' AND ( \
               u.node_id IS NULL OR (u.node_id <> $1 AND NOT EXISTS ( \
                 SELECT 1 FROM nodes n WHERE n.id = u.node_id \
                 AND n.expires > now() - make_interval(secs => $2))))) \
             ORDER BY status <> 'processing', created_at, id",
            *upload_row::SELECT
        ))
        .bind(&self.life)
        .bind(self.stall_limit.as_secs_f64())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let owner = AccountId::new(row.try_get::<String, _>("owner_id")?);
                Ok((owner, upload_from_row(row)?.1))
            })
            .collect()
    }

    pub(super) async fn existing_ids(
        &self,
        ids: &[UploadId],
    ) -> Result<HashSet<UploadId>, StoreError> {
        let ids: Vec<&str> = ids.iter().map(UploadId::as_str).collect();
        // A partial upload's bytes wait for the final upload that takes them over.
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM uploads WHERE id = ANY($1) \
             UNION SELECT id FROM tus_partials WHERE id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(self.pool())
        .await?;
        Ok(found.iter().filter_map(|id| UploadId::parse(id)).collect())
    }

    /// Every commit is durable when it returns: there is nothing to mark, only the
    /// connections to end.
    pub(super) async fn close_store(&self) -> Result<(), StoreError> {
        self.pool().close().await;
        Ok(())
    }
}
