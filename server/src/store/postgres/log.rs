//! The event log on PostgreSQL: appended inside each change's own transaction with the
//! next id of the change's account, read back after an id, its bounds per account, and
//! compaction.

use std::sync::Arc;

use async_trait::async_trait;
use shared::{AccountId, UploadEvent, UploadId};
use sqlx::PgConnection;

use super::{notify, PgRepo};
use crate::{
    domain::{clock, encode, StoredEvent},
    store::{sql::upload_row, EventLog, Scope, Snapshot, StoreError},
};

/// Events removed per compaction transaction: each holds its accounts' counters briefly,
/// so the changes it delays wait for one batch, never for a whole compaction.
const COMPACTION_BATCH: i64 = 1000;

/// Appends `event` of `owner` in the transaction of the change it announces, with the
/// account's next id: the counter row stays locked until that transaction ends, so the
/// account's ids commit in the order they were given. Every node hears of it once it
/// commits.
pub(super) async fn append_event(
    conn: &mut PgConnection,
    owner: Arc<str>,
    event: &UploadEvent,
) -> Result<StoredEvent, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO event_counters (owner_id, last_id) VALUES ($1, 1) \
         ON CONFLICT (owner_id) DO UPDATE SET last_id = event_counters.last_id + 1 \
         RETURNING last_id",
    )
    .bind(&*owner)
    .fetch_one(&mut *conn)
    .await?;
    let data = encode(event);
    sqlx::query(
        "INSERT INTO events (owner_id, seq, upload_id, name, data, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&*owner)
    .bind(id)
    .bind(event.upload_id().as_str())
    .bind(event.name())
    .bind(&data)
    .bind(clock::now())
    .execute(&mut *conn)
    .await?;
    notify::notify(conn, &owner, id).await?;
    Ok(StoredEvent::from_parts(id, event.upload_id().clone(), owner, event.name(), &data))
}

#[async_trait]
impl EventLog for PgRepo {
    async fn events_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // A statement per kind of scope: one plan prepared for both could not use the
        // upload's index for an upload's events.
        let sql = match scope.upload_id() {
            None => {
                "SELECT seq, upload_id, name, data FROM events \
                 WHERE owner_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            }
            Some(_) => {
                "SELECT seq, upload_id, name, data FROM events \
                 WHERE upload_id = $4 AND owner_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            }
        };
        let mut query =
            sqlx::query(sql).bind(scope.owner().as_str()).bind(after).bind(i64::from(limit));
        if let Some(id) = scope.upload_id() {
            query = query.bind(id.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let owner: Arc<str> = scope.owner().as_str().into();
        rows.iter().map(|row| upload_row::event_from_row(row, &owner)).collect()
    }

    async fn snapshot(&self, scope: &Scope) -> Result<Snapshot, StoreError> {
        // One snapshot of the database: the uploads and the head are from one moment.
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let head: Option<i64> =
            sqlx::query_scalar("SELECT last_id FROM event_counters WHERE owner_id = $1")
                .bind(scope.owner().as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {} FROM uploads WHERE owner_id = $1 AND ($2::TEXT IS NULL OR id = $2) \
             ORDER BY last_seq",
            *upload_row::SELECT
        ))
        .bind(scope.owner().as_str())
        .bind(scope.upload_id().map(UploadId::as_str))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let uploads = rows.iter().map(upload_row::upload_from_row).collect::<Result<_, _>>()?;
        Ok(Snapshot { head: head.unwrap_or(0), uploads })
    }

    async fn compact(&self, before: &str) -> Result<u64, StoreError> {
        let mut removed = 0;
        loop {
            let mut tx = self.pool().begin().await?;
            // One node compacts at a time: two would only repeat each other's work, and
            // could lock the same accounts' counters in opposite orders.
            let ours: bool = sqlx::query_scalar(
                "SELECT pg_try_advisory_xact_lock(hashtext('uplink compaction'))",
            )
            .fetch_one(&mut *tx)
            .await?;
            if !ours {
                tx.rollback().await?;
                return Ok(removed);
            }
            // Events of uploads finished by the cutoff, and of deleted uploads recorded
            // by then; each batch moves its accounts' horizons in the same transaction.
            let batch: i64 = sqlx::query_scalar(
                "WITH doomed AS ( \
                   SELECT e.owner_id, e.seq FROM events e \
                   WHERE e.recorded_at <= $1 AND ( \
                     EXISTS (SELECT 1 FROM uploads u WHERE u.id = e.upload_id \
                       AND u.status IN ('done', 'failed', 'cancelled') AND u.updated_at <= $1) \
                     OR NOT EXISTS (SELECT 1 FROM uploads u WHERE u.id = e.upload_id)) \
                   LIMIT $2), \
                 gone AS ( \
                   DELETE FROM events e USING doomed d \
                   WHERE e.owner_id = d.owner_id AND e.seq = d.seq \
                   RETURNING e.owner_id, e.seq), \
                 horizons AS ( \
                   UPDATE event_counters c SET compacted_through = GREATEST(c.compacted_through, g.through) \
                   FROM (SELECT owner_id, MAX(seq) AS through FROM gone GROUP BY owner_id) g \
                   WHERE c.owner_id = g.owner_id RETURNING 1) \
                 SELECT COUNT(*) FROM gone",
            )
            .bind(before)
            .bind(COMPACTION_BATCH)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            removed += batch as u64;
            if batch < COMPACTION_BATCH {
                return Ok(removed);
            }
        }
    }

    async fn log_bounds(&self, owner: &AccountId) -> Result<(i64, i64), StoreError> {
        let bounds: Option<(i64, i64)> = sqlx::query_as(
            "SELECT compacted_through, last_id FROM event_counters WHERE owner_id = $1",
        )
        .bind(owner.as_str())
        .fetch_optional(self.pool())
        .await?;
        Ok(bounds.unwrap_or((0, 0)))
    }
}
