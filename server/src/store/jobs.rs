//! The job queue as a seam: what waits to be processed, in fair order, and who holds
//! each running job. Shaped for a queue shared by several processes: a job is claimed
//! with a lease that runs out if its holder dies, and a claim carries the attempt and
//! the token that every write of the job is fenced by (a change of an older attempt is
//! refused by the lifecycle rules; one of a claim no longer holding the job, by a shared
//! store), so a job taken back from a holder presumed dead is never written by both.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use shared::{AccountId, UploadId};

use super::{fair::FairQueue, StoreError};

/// A job held by one worker until it releases it or its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub upload: UploadId,
    /// The attempt this job runs: every change it records is fenced by it.
    pub attempt: u32,
    /// Tells this claim from a later claim of the same job (after its lease ran out).
    pub token: u64,
}

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Queues attempt `attempt` of `owner`'s upload, after that account's other jobs.
    async fn push(
        &self,
        owner: &AccountId,
        upload: UploadId,
        attempt: u32,
    ) -> Result<(), StoreError>;

    /// The next job in fair order (accounts take turns), held for `lease`; `None` when
    /// nothing waits. A job whose lease ran out is claimable again first.
    async fn claim(&self, lease: Duration) -> Result<Option<Claim>, StoreError>;

    /// Extends a claim's lease; `false` when the claim is no longer held (it ran out and
    /// the job was claimed again, or it was released).
    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<bool, StoreError>;

    /// The job is over, whatever its outcome: the claim ends.
    async fn release(&self, claim: &Claim) -> Result<(), StoreError>;

    /// Takes a waiting job of attempt `attempt` or before out of the queue (cancelled or
    /// deleted); `false` when none was waiting. A later attempt (a retry queued
    /// meanwhile) stays.
    async fn remove(&self, upload: &UploadId, attempt: u32) -> Result<bool, StoreError>;

    /// The waiting jobs in the order they will be claimed: an index is how many are ahead.
    async fn waiting(&self) -> Result<Vec<UploadId>, StoreError>;

    /// Asks the other processes sharing this queue to stop the job of `upload` if they run
    /// attempt `attempt` or before (cancelled or deleted); this process stops its own runs
    /// itself.
    async fn stop_elsewhere(&self, upload: &UploadId, attempt: u32) -> Result<(), StoreError>;
}

/// The embedded queue, in memory. It needs no durability of its own: a waiting upload
/// stays `queued` in the metadata store, and start-up queues those again.
#[derive(Default)]
pub struct MemoryQueue {
    /// A std mutex: held only to change the queue, never across an await.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    fair: FairQueue,
    /// Each waiting or claimed job's owner and attempt.
    jobs: HashMap<UploadId, (AccountId, u32)>,
    /// Claimed jobs by claim token, with when their lease runs out.
    claimed: HashMap<u64, (Claim, Instant)>,
    next_token: u64,
}

impl MemoryQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the queue half-updated.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// Puts back the jobs whose holder let the lease run out.
    fn reclaim_expired(&mut self, now: Instant) {
        let expired: Vec<u64> = self
            .claimed
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(token, _)| *token)
            .collect();
        for token in expired {
            let Some((claim, _)) = self.claimed.remove(&token) else { continue };
            // Back in the queue once, and only if no later attempt took its place (a
            // retry already queued runs instead; this attempt's writes are fenced off).
            let current = self.jobs.get(&claim.upload).filter(|(_, a)| *a == claim.attempt);
            if let Some((owner, _)) = current {
                if !self.fair.contains(&claim.upload) {
                    self.fair.push(owner.as_str(), claim.upload);
                }
            }
        }
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn push(
        &self,
        owner: &AccountId,
        upload: UploadId,
        attempt: u32,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        // The same attempt again changes nothing (as on a shared queue); a later one
        // replaces it, and the earlier claim's writes are refused by the rules.
        if inner.jobs.get(&upload).is_some_and(|(_, queued)| *queued >= attempt) {
            return Ok(());
        }
        inner.jobs.insert(upload.clone(), (owner.clone(), attempt));
        if !inner.fair.contains(&upload) {
            inner.fair.push(owner.as_str(), upload);
        }
        Ok(())
    }

    async fn claim(&self, lease: Duration) -> Result<Option<Claim>, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.reclaim_expired(now);
        let Some(upload) = inner.fair.pop() else { return Ok(None) };
        let attempt = inner.jobs.get(&upload).map_or(1, |(_, attempt)| *attempt);
        inner.next_token += 1;
        let claim = Claim { upload, attempt, token: inner.next_token };
        inner.claimed.insert(claim.token, (claim.clone(), now + lease));
        Ok(Some(claim))
    }

    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.reclaim_expired(now);
        Ok(match inner.claimed.get_mut(&claim.token) {
            Some((_, until)) => {
                *until = now + lease;
                true
            }
            None => false,
        })
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.claimed.remove(&claim.token).is_some() {
            let held_elsewhere = inner.claimed.values().any(|(c, _)| c.upload == claim.upload);
            if !held_elsewhere && !inner.fair.contains(&claim.upload) {
                inner.jobs.remove(&claim.upload);
            }
        }
        Ok(())
    }

    async fn remove(&self, upload: &UploadId, attempt: u32) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.jobs.get(upload).is_some_and(|(_, queued)| *queued > attempt) {
            return Ok(false);
        }
        let removed = inner.fair.remove(upload);
        if removed && !inner.claimed.values().any(|(c, _)| c.upload == *upload) {
            inner.jobs.remove(upload);
        }
        Ok(removed)
    }

    async fn waiting(&self) -> Result<Vec<UploadId>, StoreError> {
        Ok(self.lock().fair.order().into_iter().cloned().collect())
    }

    async fn stop_elsewhere(&self, _upload: &UploadId, _attempt: u32) -> Result<(), StoreError> {
        // Nobody else takes from a queue in this process's memory.
        Ok(())
    }
}
