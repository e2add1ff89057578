//! The job queue on PostgreSQL, shared by every node: a worker claims the next job in fair
//! order with `FOR UPDATE SKIP LOCKED` (two nodes never take one job, and neither waits
//! for the other), under a lease on the database's clock that it renews while it works.
//! A job whose lease ran out is claimed again before any other, by whichever node asks
//! first, and the store refuses every later write of the claim it replaced.

use std::time::Duration;

use async_trait::async_trait;
use shared::{AccountId, UploadId};
use sqlx::Row;

use super::PgRepo;
use crate::store::{Claim, JobQueue, StoreError};

/// Jobs that may be claimed: waiting, or held under a lease that ran out.
const CLAIMABLE: &str = "(j.claim IS NULL OR j.lease_until <= now())";

#[async_trait]
impl JobQueue for PgRepo {
    async fn push(
        &self,
        owner: &AccountId,
        upload: UploadId,
        attempt: u32,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let outcome = async {
            // A later attempt replaces the job (a retry; the old claim's writes are over);
            // the same attempt again changes nothing, so a node starting up can push every
            // queued upload without disturbing one that another node is running. The job's
            // row is locked before the account's turn, in the order a claim takes them.
            let queued = sqlx::query(
                "INSERT INTO jobs (upload_id, owner_id, attempt) VALUES ($1, $2, $3) \
             ON CONFLICT (upload_id) DO UPDATE SET attempt = excluded.attempt, \
               queued = excluded.queued, claim = NULL, lease_until = NULL \
             WHERE jobs.attempt < excluded.attempt",
            )
            .bind(upload.as_str())
            .bind(owner.as_str())
            .bind(i64::from(attempt))
            .execute(&mut *tx)
            .await?;
            if queued.rows_affected() == 0 {
                // Already queued (or running): nothing moves, the account's turn included.
                return Ok::<_, StoreError>(());
            }
            // An account that starts waiting takes the last turn.
            sqlx::query(
                "INSERT INTO job_turns (owner_id, turn) VALUES ($1, nextval('job_turns_given')) \
             ON CONFLICT (owner_id) DO UPDATE SET turn = excluded.turn \
             WHERE NOT EXISTS (SELECT 1 FROM jobs \
               WHERE owner_id = $1 AND claim IS NULL AND upload_id <> $2)",
            )
            .bind(owner.as_str())
            .bind(upload.as_str())
            .execute(&mut *tx)
            .await?;
            super::notify::job_pushed(&mut tx).await?;
            Ok(())
        }
        .await;
        PgRepo::finish(tx, outcome).await
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let outcome = async {
            let claimed = sqlx::query(&format!(
                "WITH next AS ( \
               SELECT j.upload_id FROM jobs j JOIN job_turns t ON t.owner_id = j.owner_id \
               WHERE {CLAIMABLE} \
               ORDER BY (j.claim IS NOT NULL) DESC, t.turn, j.queued \
               LIMIT 1 FOR UPDATE OF j SKIP LOCKED) \
             UPDATE jobs SET claim = nextval('job_claims'), \
               lease_until = now() + make_interval(secs => $1) \
             FROM next WHERE jobs.upload_id = next.upload_id \
             RETURNING jobs.upload_id, jobs.owner_id, jobs.attempt, jobs.claim"
            ))
            .bind(lease.as_secs_f64())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = claimed else { return Ok::<_, StoreError>(None) };
            let owner: String = row.try_get("owner_id")?;
            // The account goes to the back of the turns.
            sqlx::query(
                "UPDATE job_turns SET turn = nextval('job_turns_given') WHERE owner_id = $1",
            )
            .bind(&owner)
            .execute(&mut *tx)
            .await?;
            Ok(Some(row))
        }
        .await;
        let Some(row) = PgRepo::finish(tx, outcome).await? else { return Ok(None) };
        let upload: String = row.try_get("upload_id")?;
        Ok(Some(Claim {
            upload: UploadId::parse(&upload)
                .ok_or_else(|| StoreError::CorruptRow("job upload_id".into()))?,
            attempt: row.try_get::<i64, _>("attempt")?.clamp(1, i64::from(u32::MAX)) as u32,
            token: row.try_get::<i64, _>("claim")? as u64,
        }))
    }

    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = now() + make_interval(secs => $3) \
             WHERE upload_id = $1 AND claim = $2",
        )
        .bind(claim.upload.as_str())
        .bind(claim.token as i64)
        .bind(lease.as_secs_f64())
        .execute(self.pool())
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jobs WHERE upload_id = $1 AND claim = $2")
            .bind(claim.upload.as_str())
            .bind(claim.token as i64)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn remove(&self, upload: &UploadId, attempt: u32) -> Result<bool, StoreError> {
        let removed = sqlx::query(&format!(
            "DELETE FROM jobs j WHERE j.upload_id = $1 AND j.attempt <= $2 AND {CLAIMABLE}"
        ))
        .bind(upload.as_str())
        .bind(i64::from(attempt))
        .execute(self.pool())
        .await?;
        Ok(removed.rows_affected() == 1)
    }

    async fn waiting(&self) -> Result<Vec<UploadId>, StoreError> {
        // Turn by turn: every account's first waiting job in the order of their turns,
        // then every account's second, and so on; lapsed jobs before all.
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT upload_id FROM ( \
               SELECT j.upload_id, j.claim IS NOT NULL AS lapsed, t.turn, j.queued, \
                 row_number() OVER (PARTITION BY j.owner_id \
                   ORDER BY j.claim IS NOT NULL DESC, j.queued) AS round \
               FROM jobs j JOIN job_turns t ON t.owner_id = j.owner_id WHERE {CLAIMABLE}) w \
             ORDER BY lapsed DESC, round, turn, queued"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(ids.iter().filter_map(|id| UploadId::parse(id)).collect())
    }

    async fn stop_elsewhere(&self, upload: &UploadId, attempt: u32) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        super::notify::stop_job(&mut conn, upload, attempt).await
    }
}
