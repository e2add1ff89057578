//! The embedded metadata store: one SQLite file in the data directory.

use std::{collections::HashSet, path::Path, str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use shared::{ErrorBody, ErrorCode, Stage, Upload, UploadEvent, UploadId, UploadStatus};
use sqlx::{
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    },
    Row, SqliteConnection, SqlitePool,
};

use super::{repo::Snapshot, MetadataRepo, Scope, StoreError};
use crate::{
    clock,
    events::{encode, StoredEvent},
    uploads::lifecycle::{self, Change, Refused},
};

pub struct SqliteRepo {
    pool: SqlitePool,
}

impl SqliteRepo {
    /// Opens (creating if needed) `uplink.db` in `dir` and brings its schema up to date.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://uplink.db")?
            .filename(dir.join("uplink.db"))
            .create_if_missing(true)
            // WAL + NORMAL: a commit survives the process being killed (SIGKILL) without
            // an fsync per event; only a power loss can take the last few back.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // sqlx pings a pooled connection before handing it out: one more round trip
            // to the connection's thread for every query and transaction. A connection to
            // a local file does not go stale the way a network one does.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("src/store/migrations").run(&pool).await?;
        let repo = Self { pool };
        repo.mark_open().await?;
        Ok(repo)
    }

    pub(super) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction for a change that reads before it writes. `IMMEDIATE` takes the write
    /// lock up front, so it waits out other writers (the busy timeout); a deferred one
    /// would fail outright (SQLITE_BUSY) if another connection wrote between its read
    /// and its write (`tests/store.rs`).
    ///
    /// Its future must not be dropped midway: sqlx 0.8 leaks a custom `BEGIN` whose future
    /// is dropped right after it ran, and that transaction would hold the write lock for
    /// good. The recorder runs every change in a task of its own for this reason.
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Notes that a server has the store open, first moving the event ids past anything
    /// the previous one may have handed out if it did not close the store cleanly.
    ///
    /// Without an fsync per commit, a power loss can take back the last commits before
    /// the WAL was last synced, and with them ids that clients already saw. New events
    /// must never reuse those ids (a client resuming from one would skip real events),
    /// so after an unclean stop the sequence jumps far beyond what one WAL can hold.
    /// The flag itself is checkpointed, so it survives the very power loss it is for.
    async fn mark_open(&self) -> Result<(), StoreError> {
        let running: Option<i64> =
            sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'running'")
                .fetch_optional(&self.pool)
                .await?;
        if running == Some(1) {
            sqlx::query("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'events'")
                .bind(ID_GAP_AFTER_UNCLEAN_STOP)
                .execute(&self.pool)
                .await?;
            tracing::warn!(
                gap = ID_GAP_AFTER_UNCLEAN_STOP,
                "the previous run did not stop cleanly; new event ids skip ahead"
            );
        }
        self.set_running(true).await
    }

    async fn set_running(&self, running: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO store_meta (key, value) VALUES ('running', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(i64::from(running))
        .execute(&self.pool)
        .await?;
        // Best effort: a checkpoint can lose to a writer that never pauses (a job of a
        // previous run still finishing a page); the flag is committed either way and
        // reaches the main file at the next automatic checkpoint.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(&self.pool).await {
            tracing::warn!(%error, "checkpointing the store's running flag failed");
        }
        Ok(())
    }
}

/// How far event ids jump after an unclean stop: far more commits than fit in the
/// unsynced tail of the WAL (it is checkpointed about every thousand pages).
const ID_GAP_AFTER_UNCLEAN_STOP: i64 = 1_000_000;

const UPLOAD_COLUMNS: &str = "id, filename, size, content_type, sha256, status, stage, percent, \
     pages, error_code, error_message, created_at, updated_at, client_ref, has_text, attempt, width, height, has_thumbnail, last_seq";

fn upload_from_row(row: &SqliteRow) -> Result<(i64, Upload), StoreError> {
    let corrupt = |what: &str| StoreError::CorruptRow(what.to_owned());
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let stage: Option<String> = row.try_get("stage")?;
    let error_code: Option<String> = row.try_get("error_code")?;
    let error_message: Option<String> = row.try_get("error_message")?;
    let upload = Upload {
        id: UploadId::parse(&id).ok_or_else(|| corrupt("id"))?,
        filename: row.try_get("filename")?,
        size: row.try_get::<i64, _>("size")? as u64,
        content_type: row.try_get("content_type")?,
        sha256: row.try_get("sha256")?,
        status: UploadStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        stage: stage.as_deref().and_then(Stage::parse),
        percent: row.try_get::<i64, _>("percent")?.clamp(0, 100) as u8,
        pages: row.try_get::<Option<i64>, _>("pages")?.map(|p| p as u32),
        error: error_code
            .map(|code| ErrorBody::new(ErrorCode::parse(&code), error_message.unwrap_or_default())),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        client_ref: row.try_get("client_ref")?,
        has_text: row.try_get("has_text")?,
        attempt: row.try_get::<i64, _>("attempt")?.clamp(1, i64::from(u32::MAX)) as u32,
        width: row.try_get::<Option<i64>, _>("width")?.map(|w| w as u32),
        height: row.try_get::<Option<i64>, _>("height")?.map(|h| h as u32),
        has_thumbnail: row.try_get("has_thumbnail")?,
    };
    Ok((row.try_get("last_seq")?, upload))
}

/// An upload and its owner (`""` for uploads from before accounts: nobody's).
async fn fetch_upload(
    conn: &mut SqliteConnection,
    id: &UploadId,
) -> Result<Option<(Arc<str>, Upload)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {UPLOAD_COLUMNS}, COALESCE(owner_id, '') AS owner FROM uploads WHERE id = ?"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let owner: String = row.try_get("owner")?;
    Ok(Some((owner.into(), upload_from_row(&row)?.1)))
}

async fn append_event(
    conn: &mut SqliteConnection,
    owner: Arc<str>,
    event: &UploadEvent,
) -> Result<StoredEvent, StoreError> {
    let data = encode(event);
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO events (upload_id, owner_id, name, data, recorded_at) \
         VALUES (?, ?, ?, ?, ?) RETURNING seq",
    )
    .bind(event.upload_id().as_str())
    .bind(&*owner)
    .bind(event.name())
    .bind(&data)
    .bind(clock::now())
    .fetch_one(conn)
    .await?;
    Ok(StoredEvent::from_parts(seq, event.upload_id().clone(), owner, event.name(), &data))
}

async fn delete_page_texts(conn: &mut SqliteConnection, id: &UploadId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM page_texts WHERE upload_id = ?")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes every column of `upload`: a new row of `new_owner`'s, or (with `None`) an
/// update of the existing one, whose owner never changes.
async fn write_upload(
    conn: &mut SqliteConnection,
    upload: &Upload,
    last_seq: i64,
    new_owner: Option<&str>,
) -> Result<(), StoreError> {
    let sql = if new_owner.is_some() {
        format!(
            "INSERT INTO uploads ({UPLOAD_COLUMNS}, owner_id) \
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
    } else {
        "UPDATE uploads SET id = ?, filename = ?, size = ?, content_type = ?, sha256 = ?, \
         status = ?, stage = ?, percent = ?, pages = ?, error_code = ?, error_message = ?, \
         created_at = ?, updated_at = ?, client_ref = ?, has_text = ?, attempt = ?, width = ?, height = ?, has_thumbnail = ?, last_seq = ? \
         WHERE id = ?"
            .to_owned()
    };
    let mut query = sqlx::query(&sql)
        .bind(upload.id.as_str())
        .bind(&upload.filename)
        .bind(upload.size as i64)
        .bind(&upload.content_type)
        .bind(&upload.sha256)
        .bind(upload.status.as_str())
        .bind(upload.stage.map(Stage::as_str))
        .bind(i64::from(upload.percent))
        .bind(upload.pages.map(i64::from))
        .bind(upload.error.as_ref().map(|e| e.code.as_str()))
        .bind(upload.error.as_ref().map(|e| e.message.as_str()))
        .bind(&upload.created_at)
        .bind(&upload.updated_at)
        .bind(&upload.client_ref)
        .bind(upload.has_text)
        .bind(i64::from(upload.attempt))
        .bind(upload.width.map(i64::from))
        .bind(upload.height.map(i64::from))
        .bind(upload.has_thumbnail)
        .bind(last_seq);
    query = match new_owner {
        Some(owner) => query.bind(owner),
        None => query.bind(upload.id.as_str()),
    };
    query.execute(conn).await?;
    Ok(())
}

/// The `WHERE` terms of a scope over a table whose upload column is `upload_column`,
/// with the values to bind in order.
fn scope_filter<'a>(scope: &'a Scope, upload_column: &str) -> (String, Vec<&'a str>) {
    match scope.upload_id() {
        None => ("owner_id = ?".to_owned(), vec![scope.owner_id()]),
        Some(id) => {
            (format!("owner_id = ? AND {upload_column} = ?"), vec![scope.owner_id(), id.as_str()])
        }
    }
}

#[async_trait]
impl MetadataRepo for SqliteRepo {
    async fn insert(
        &self,
        owner: &str,
        mut upload: Upload,
        change: Change,
    ) -> Result<(Upload, StoredEvent), StoreError> {
        let at = clock::now();
        let event = lifecycle::apply(&mut upload, change, &at)?;
        let mut tx = self.write_tx().await?;
        let stored = append_event(&mut tx, owner.into(), &event).await?;
        write_upload(&mut tx, &upload, stored.seq, Some(owner)).await?;
        tx.commit().await?;
        Ok((upload, stored))
    }

    async fn record(
        &self,
        id: &UploadId,
        mut change: Change,
    ) -> Result<(Upload, StoredEvent), StoreError> {
        let page_text = change.page_text.take().zip(change.page);
        let mut tx = self.write_tx().await?;
        let (owner, mut upload) = fetch_upload(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        let event = lifecycle::apply(&mut upload, change, &clock::now())?;
        if let Some((text, page)) = page_text {
            sqlx::query(
                "INSERT OR REPLACE INTO page_texts (upload_id, page, text) VALUES (?, ?, ?)",
            )
            .bind(id.as_str())
            .bind(i64::from(page))
            .bind(text)
            .execute(&mut *tx)
            .await?;
        }
        if upload.status.is_terminal() {
            // The text is assembled (done) or never will be: the checkpoint is spent.
            delete_page_texts(&mut tx, id).await?;
        }
        let stored = append_event(&mut tx, owner, &event).await?;
        write_upload(&mut tx, &upload, stored.seq, None).await?;
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
            Err(Refused::Finished | Refused::NotQueued | Refused::NotRetriable) => None,
        };
        sqlx::query("DELETE FROM uploads WHERE id = ?").bind(id.as_str()).execute(&mut *tx).await?;
        delete_page_texts(&mut tx, id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn get(&self, id: &UploadId) -> Result<Option<Upload>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(fetch_upload(&mut conn, id).await?.map(|(_, upload)| upload))
    }

    async fn get_owned(&self, owner: &str, id: &UploadId) -> Result<Option<Upload>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(fetch_upload(&mut conn, id)
            .await?
            .filter(|(found, _)| !owner.is_empty() && **found == *owner)
            .map(|(_, upload)| upload))
    }

    async fn owner_of(&self, id: &UploadId) -> Result<Option<String>, StoreError> {
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner_id FROM uploads WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(owner.flatten())
    }

    async fn list(&self, owner: &str) -> Result<Vec<Upload>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {UPLOAD_COLUMNS} FROM uploads WHERE owner_id = ? \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| upload_from_row(row).map(|(_, u)| u)).collect()
    }

    async fn stored_bytes(&self, owner: &str) -> Result<u64, StoreError> {
        let bytes: Option<i64> = sqlx::query_scalar(
            // Only bytes that were stored count: an upload that failed or was cancelled while
            // arriving keeps the size it had reached, but none of its bytes.
            "SELECT SUM(size) FROM uploads WHERE owner_id = ? AND sha256 IS NOT NULL",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        Ok(bytes.unwrap_or(0).max(0) as u64)
    }

    async fn unfinished(&self) -> Result<Vec<(String, Upload)>, StoreError> {
        // Jobs a restart interrupted first: they were already running.
        let rows = sqlx::query(&format!(
            "SELECT {UPLOAD_COLUMNS}, COALESCE(owner_id, '') AS owner FROM uploads \
             WHERE status IN ('uploading', 'queued', 'processing') \
             ORDER BY status != 'processing', created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.try_get("owner")?, upload_from_row(row)?.1))).collect()
    }

    async fn events_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let (filter, values) = scope_filter(scope, "upload_id");
        let sql = format!(
            "SELECT seq, upload_id, name, data FROM events WHERE seq > ? AND {filter} \
             ORDER BY seq LIMIT ?"
        );
        let mut query = sqlx::query(&sql).bind(after);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(&self.pool).await?;
        let owner: Arc<str> = scope.owner_id().into();
        rows.iter()
            .map(|row| {
                let upload_id: String = row.try_get("upload_id")?;
                let upload_id = UploadId::parse(&upload_id)
                    .ok_or_else(|| StoreError::CorruptRow("event upload_id".into()))?;
                Ok(StoredEvent::from_parts(
                    row.try_get("seq")?,
                    upload_id,
                    Arc::clone(&owner),
                    row.try_get::<&str, _>("name")?,
                    row.try_get::<&str, _>("data")?,
                ))
            })
            .collect()
    }

    async fn snapshot(&self, scope: &Scope) -> Result<Snapshot, StoreError> {
        // One read transaction: the uploads and the head are from the same moment.
        let mut tx = self.pool.begin().await?;
        let head: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM events").fetch_one(&mut *tx).await?;
        let (filter, values) = scope_filter(scope, "id");
        let sql = format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE {filter} ORDER BY last_seq");
        let mut query = sqlx::query(&sql);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let uploads = rows.iter().map(upload_from_row).collect::<Result<_, _>>()?;
        Ok(Snapshot { head: head.unwrap_or(0), uploads })
    }

    async fn pages_done(&self, id: &UploadId) -> Result<u32, StoreError> {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT MAX(page) FROM page_texts WHERE upload_id = ?")
                .bind(id.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(done.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32)
    }

    async fn page_texts(
        &self,
        id: &UploadId,
        after: u32,
        limit: u32,
    ) -> Result<Vec<(u32, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT page, text FROM page_texts WHERE upload_id = ? AND page > ? ORDER BY page LIMIT ?",
        )
        .bind(id.as_str())
        .bind(i64::from(after))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get::<i64, _>("page")? as u32, row.try_get("text")?)))
            .collect()
    }

    async fn compact(&self, before: &str) -> Result<u64, StoreError> {
        self.compact_in_batches(before).await
    }

    async fn existing(&self, ids: &[UploadId]) -> Result<HashSet<UploadId>, StoreError> {
        self.existing_ids(ids).await
    }

    async fn log_bounds(&self) -> Result<(i64, i64), StoreError> {
        let (horizon, head): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT value FROM store_meta WHERE key = 'compacted_through'), \
                    (SELECT MAX(seq) FROM events)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((horizon.unwrap_or(0), head.unwrap_or(0)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.set_running(false).await
    }
}
