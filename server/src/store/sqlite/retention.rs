//! The SQLite store's housekeeping: compacting the event log in small batches, and
//! telling which upload ids still have a row (for sweeping stored files that lost theirs).

use std::collections::HashSet;

use shared::UploadId;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteRepo;
use crate::store::StoreError;

/// Events looked at per compaction transaction. Each batch takes the write lock once and
/// briefly, so uploads and jobs recording meanwhile wait for one batch, never for a
/// whole compaction of a large log.
const COMPACTION_BATCH: i64 = 1000;

/// Which of a batch's events are past retention (`?3` is the cutoff): those of uploads
/// finished by then, and those of deleted uploads recorded by then. Each event's upload
/// is found by its primary key.
const COMPACTABLE: &str = "(EXISTS (SELECT 1 FROM uploads u WHERE u.id = events.upload_id \
         AND u.status IN ('done', 'failed', 'cancelled') AND u.updated_at <= ?3) \
     OR (NOT EXISTS (SELECT 1 FROM uploads u WHERE u.id = events.upload_id) \
         AND recorded_at <= ?3))";

/// Ids looked up per query when sweeping.
const LOOKUP_BATCH: usize = 500;

impl SqliteRepo {
    /// Removes the events past retention, walking the log in id order a batch at a time
    /// until it reaches events recorded after the cutoff (ids are given in time order, so
    /// nothing older lies beyond). Each batch moves the horizon in the same transaction
    /// as its deletions, so a reader that checks the horizon sees every gap it made.
    pub(super) async fn compact_in_batches(&self, before: &str) -> Result<u64, StoreError> {
        let mut after = 0_i64;
        let mut removed = 0;
        loop {
            let rows = sqlx::query(
                "SELECT seq, recorded_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(after)
            .bind(COMPACTION_BATCH)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            let mut through: i64 = last.try_get("seq")?;
            let mut reached_the_present = false;
            for row in &rows {
                let recorded: Option<String> = row.try_get("recorded_at")?;
                if recorded.is_some_and(|at| at.as_str() > before) {
                    through = row.try_get::<i64, _>("seq")? - 1;
                    reached_the_present = true;
                    break;
                }
            }
            removed += self.compact_range(after, through, before).await?;
            if reached_the_present {
                break;
            }
            after = through;
        }
        Ok(removed)
    }

    /// Compacts the events with ids in `(after, through]`.
    async fn compact_range(
        &self,
        after: i64,
        through: i64,
        before: &str,
    ) -> Result<u64, StoreError> {
        if through <= after {
            return Ok(0);
        }
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let deleted: Vec<i64> = sqlx::query_scalar(&format!(
            "DELETE FROM events WHERE seq > ?1 AND seq <= ?2 AND {COMPACTABLE} RETURNING seq"
        ))
        .bind(after)
        .bind(through)
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
        if let Some(horizon) = deleted.iter().max() {
            sqlx::query(
                "INSERT INTO store_meta (key, value) VALUES ('compacted_through', ?) \
                 ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
            )
            .bind(horizon)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(deleted.len() as u64)
    }

    /// Which of `ids` have an upload row.
    pub(super) async fn existing_ids(
        &self,
        ids: &[UploadId],
    ) -> Result<HashSet<UploadId>, StoreError> {
        let mut found = HashSet::new();
        for batch in ids.chunks(LOOKUP_BATCH) {
            // A partial upload's bytes wait for the final upload that takes them over.
            let mut query = QueryBuilder::<Sqlite>::new("SELECT id FROM uploads WHERE id IN (");
            let mut list = query.separated(", ");
            for id in batch {
                list.push_bind(id.as_str());
            }
            query.push(") UNION SELECT id FROM tus_partials WHERE id IN (");
            let mut list = query.separated(", ");
            for id in batch {
                list.push_bind(id.as_str());
            }
            query.push(")");
            let rows: Vec<String> = query.build_query_scalar().fetch_all(self.pool()).await?;
            found.extend(rows.iter().filter_map(|id| UploadId::parse(id)));
        }
        Ok(found)
    }
}
