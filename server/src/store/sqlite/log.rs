//! The durable event log in SQLite: appended inside each change's own transaction (the
//! store's outbox), read back after an id, and its bounds. Compaction is `retention.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use shared::{AccountId, UploadEvent};
use sqlx::SqliteConnection;

use super::SqliteRepo;
use crate::store::sql::upload_row::{self, upload_from_row};
use crate::{
    domain::{clock, encode, StoredEvent},
    store::{EventLog, Scope, Snapshot, StoreError},
};

/// Appends `event` in the transaction of the change it announces. Its id comes from the
/// table's sequence at this insert; SQLite has one writer at a time, so ids are in
/// commit order.
pub(super) async fn append_event(
    conn: &mut SqliteConnection,
    owner: Arc<str>,
    event: &UploadEvent,
) -> Result<StoredEvent, StoreError> {
    let data = encode(event);
    let id: i64 = sqlx::query_scalar(
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
    Ok(StoredEvent::from_parts(id, event.upload_id().clone(), owner, event.name(), &data))
}

/// The `WHERE` terms of a scope over a table whose upload column is `upload_column`,
/// with the values to bind in order.
fn scope_filter<'a>(scope: &'a Scope, upload_column: &str) -> (String, Vec<&'a str>) {
    match scope.upload_id() {
        None => ("owner_id = ?".to_owned(), vec![scope.owner().as_str()]),
        Some(id) => (
            format!("owner_id = ? AND {upload_column} = ?"),
            vec![scope.owner().as_str(), id.as_str()],
        ),
    }
}

#[async_trait]
impl EventLog for SqliteRepo {
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
        let rows = query.bind(i64::from(limit)).fetch_all(self.pool()).await?;
        let owner: Arc<str> = scope.owner().as_str().into();
        rows.iter().map(|row| upload_row::event_from_row(row, &owner)).collect()
    }

    async fn snapshot(&self, scope: &Scope) -> Result<Snapshot, StoreError> {
        // One read transaction: the uploads and the head are from the same moment.
        let mut tx = self.pool().begin().await?;
        let head: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM events").fetch_one(&mut *tx).await?;
        let (filter, values) = scope_filter(scope, "id");
        let sql =
            format!("SELECT {} FROM uploads WHERE {filter} ORDER BY last_seq", *upload_row::SELECT);
        let mut query = sqlx::query(&sql);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let uploads = rows.iter().map(upload_from_row).collect::<Result<_, _>>()?;
        Ok(Snapshot { head: head.unwrap_or(0), uploads })
    }

    async fn compact(&self, before: &str) -> Result<u64, StoreError> {
        self.compact_in_batches(before).await
    }

    /// One sequence numbers every account's events here, so the whole log's bounds bound
    /// each account's too: a horizon that may be higher than the account's own (a client
    /// gets a snapshot it might not have needed) and a head that may be too.
    async fn log_bounds(&self, _owner: &AccountId) -> Result<(i64, i64), StoreError> {
        let (horizon, head): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT value FROM store_meta WHERE key = 'compacted_through'), \
                    (SELECT MAX(seq) FROM events)",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((horizon.unwrap_or(0), head.unwrap_or(0)))
    }
}
