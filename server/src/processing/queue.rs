//! The workers: `UPLINK_WORKERS` of them take jobs from the [`JobQueue`] in its fair order,
//! so at most that many files are processed at once, whatever arrives, and every
//! waiting job is told how many jobs are ahead of it.
//!
//! The embedded queue lives in memory; what makes it survive a restart is the store,
//! where a waiting upload stays `queued` until a worker takes it (see `AppState::recover`).
//! On several nodes the queue is PostgreSQL's, shared, and its leases matter: a node that
//! dies or stalls loses its jobs to the others.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use shared::{AccountId, UploadId};
use tokio::sync::Notify;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::worker::{self, WorkerContext};
use crate::{
    domain::Change,
    store::{Claim, JobQueue},
};

pub struct Jobs {
    shared: Arc<Shared>,
    workers: TaskTracker,
    /// Stops the jobs that are running (at the end of the shutdown grace period).
    abort: CancellationToken,
}

struct Shared {
    queue: Arc<dyn JobQueue>,
    /// How long a claim is held without word from its worker (`UPLINK_JOB_LEASE`). A
    /// running job renews it every third of that, so only a worker that died or stalled
    /// (a process killed, a node gone) lets it run out, and a queue shared by several
    /// processes then hands the job to another worker.
    lease: Duration,
    /// The position last announced for each waiting job.
    announced: Mutex<HashMap<UploadId, u32>>,
    /// Wakes idle workers when a job is pushed.
    pushed: Notify,
    /// Running jobs by claim, so cancel and delete can stop one: a retried upload's next
    /// run may start while its cancelled run is still winding down.
    running: Mutex<HashMap<UploadId, Vec<(Claim, CancellationToken)>>>,
    /// Woken when the queue changed, so the announcer tells the jobs that moved.
    moved: Notify,
}

impl Shared {
    /// The waiting jobs whose announced position no longer holds, with the new one.
    async fn moved(&self) -> Vec<(UploadId, u32)> {
        let order = match self.queue.waiting().await {
            Ok(order) => order,
            Err(error) => {
                tracing::warn!(%error, "reading the queue's order failed");
                return Vec::new();
            }
        };
        let mut announced = lock(&self.announced);
        let waiting: HashSet<&UploadId> = order.iter().collect();
        announced.retain(|id, _| waiting.contains(id));
        let mut moved = Vec::new();
        for (ahead, id) in order.iter().enumerate() {
            let shown = shown_position(ahead);
            if announced.get(id) != Some(&shown) {
                announced.insert(id.clone(), shown);
                moved.push((id.clone(), shown));
            }
        }
        moved
    }
}

/// The position a job is told: exact for the last ten, then in steps (rounded up, so it
/// never promises less waiting than there is). One job starting moves every waiting job,
/// and telling each of 500 waiting jobs about each start would be 125,000 events.
fn shown_position(ahead: usize) -> u32 {
    let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
    let step = match ahead {
        0..=10 => 1,
        11..=100 => 10,
        101..=1000 => 100,
        _ => 1000,
    };
    ahead.div_ceil(step).saturating_mul(step)
}

impl Jobs {
    /// Starts `workers` workers taking jobs from the context's queue. Once `shutdown` is
    /// cancelled they take no new job; see [`Jobs::drain`] for the ones running then.
    pub fn start(workers: usize, context: WorkerContext, shutdown: CancellationToken) -> Self {
        let shared = Arc::new(Shared {
            queue: Arc::clone(&context.queue),
            lease: context.lease,
            announced: Mutex::default(),
            pushed: Notify::new(),
            running: Mutex::default(),
            moved: Notify::new(),
        });
        tokio::spawn(announce_positions(context.clone(), shared.clone(), shutdown.clone()));
        let tracker = TaskTracker::new();
        let abort = CancellationToken::new();
        for _ in 0..workers.max(1) {
            let (shared, context, shutdown) = (shared.clone(), context.clone(), shutdown.clone());
            let abort = abort.clone();
            tracker.spawn(async move {
                loop {
                    // Armed before the queue is asked, so a job pushed meanwhile still
                    // wakes this worker.
                    let pushed = shared.pushed.notified();
                    tokio::pin!(pushed);
                    pushed.as_mut().enable();
                    if shutdown.is_cancelled() {
                        break;
                    }
                    let Some(claim) = shared.claim().await else {
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            () = pushed => {}
                            // A claim whose lease ran out (its worker stalled or died) is
                            // claimable again without anyone pushing.
                            () = tokio::time::sleep(shared.lease / 3) => {}
                        }
                        continue;
                    };
                    let cancel = abort.child_token();
                    lock(&shared.running)
                        .entry(claim.upload.clone())
                        .or_default()
                        .push((claim.clone(), cancel.clone()));
                    let run = (claim.attempt, claim.token);
                    let work = worker::process(&context, &claim.upload, run, &cancel);
                    let over = shared.hold(&claim, &cancel, work).await;
                    // A run stopped by the end of the shutdown grace, or that could not
                    // begin, is not over: its claim is left to lapse, and the job is
                    // claimed again (by another node, or by this one's next start).
                    shared.forget(&claim);
                    if over && !abort.is_cancelled() {
                        shared.release(&claim).await;
                    }
                }
            });
        }
        tracker.close();
        Self { shared, workers: tracker, abort }
    }

    /// Waits up to `grace` for the running jobs to finish (call after shutdown began),
    /// then stops the rest; they stay `processing` and resume on the next start.
    pub async fn drain(&self, grace: Duration) {
        if tokio::time::timeout(grace, self.workers.wait()).await.is_err() {
            tracing::warn!("jobs still running after the shutdown grace period; stopping them");
            self.abort.cancel();
            self.workers.wait().await;
        }
    }

    /// Queues attempt `attempt` of `owner`'s upload `id`. After shutdown began it simply
    /// waits in the store, `queued`, for the next start; if the queue cannot take it, it
    /// waits there too, and the failure is logged.
    pub async fn enqueue(&self, owner: &AccountId, id: UploadId, attempt: u32) {
        if let Err(error) = self.shared.queue.push(owner, id.clone(), attempt).await {
            tracing::error!(upload = %id, %error, "queueing a job failed");
            return;
        }
        self.shared.moved.notify_one();
        self.shared.pushed.notify_waiters();
    }

    /// Stops the job for attempt `attempt` (or before) of `id`: takes it out of the queue,
    /// or cancels it wherever it runs. A retry queued meanwhile stays.
    pub async fn cancel(&self, id: &UploadId, attempt: u32) {
        match self.shared.queue.remove(id, attempt).await {
            Ok(true) => {
                self.shared.moved.notify_one();
                return;
            }
            Ok(false) => {}
            Err(error) => tracing::error!(upload = %id, %error, "unqueueing a job failed"),
        }
        self.stop_here(id, attempt);
        if let Err(error) = self.shared.queue.stop_elsewhere(id, attempt).await {
            // Its changes are refused anyway (the upload is finished or gone): it stops
            // at its next one.
            tracing::warn!(upload = %id, %error, "asking other nodes to stop a job failed");
        }
    }

    /// Stops this process's runs of attempt `attempt` or before of the job for `id`.
    pub fn stop_here(&self, id: &UploadId, attempt: u32) {
        if let Some(runs) = lock(&self.shared.running).get(id) {
            let stopped = runs.iter().filter(|(claim, _)| claim.attempt <= attempt);
            stopped.for_each(|(_, token)| token.cancel());
        }
    }

    /// Idle workers look at the queue (another process pushed a job).
    pub fn wake(&self) {
        self.shared.pushed.notify_waiters();
    }
}

impl Shared {
    async fn claim(&self) -> Option<Claim> {
        let claim = self.queue.claim(self.lease).await.unwrap_or_else(|error| {
            tracing::error!(%error, "claiming a job failed");
            None
        });
        // A job left the queue: those behind it moved up. (An idle worker's look finds
        // none, and wakes nobody.)
        if claim.is_some() {
            self.moved.notify_one();
        }
        claim
    }

    /// Runs `work` while renewing `claim`'s lease. A claim found lost (its lease ran out
    /// and another worker has the job) stops this run: only one may write the job.
    async fn hold(
        &self,
        claim: &Claim,
        cancel: &CancellationToken,
        work: impl Future<Output = bool>,
    ) -> bool {
        tokio::pin!(work);
        let every = self.lease / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                over = &mut work => return over,
                _ = renew.tick() => match self.queue.renew(claim, self.lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        if !cancel.is_cancelled() {
                            tracing::warn!(upload = %claim.upload, "a job's claim was lost; stopping this run");
                            cancel.cancel();
                        }
                    }
                    // The queue cannot be reached: the run goes on, and a queue shared by
                    // several processes may give the job to another worker meanwhile.
                    Err(error) => tracing::warn!(upload = %claim.upload, %error, "renewing a job's claim failed"),
                },
            }
        }
    }

    /// The run of `claim` is no longer this process's to stop.
    fn forget(&self, claim: &Claim) {
        let mut running = lock(&self.running);
        if let Some(runs) = running.get_mut(&claim.upload) {
            runs.retain(|(run, _)| run.token != claim.token);
            if runs.is_empty() {
                running.remove(&claim.upload);
            }
        }
    }

    async fn release(&self, claim: &Claim) {
        if let Err(error) = self.queue.release(claim).await {
            tracing::warn!(upload = %claim.upload, %error, "releasing a job failed");
        }
    }
}

/// Records the positions waiting jobs moved to, front of the queue first. When the queue
/// moves faster than events are recorded, it announces only where jobs are now, skipping
/// the places they passed meanwhile.
async fn announce_positions(
    context: WorkerContext,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            () = shared.moved.notified() => {}
        }
        for (id, ahead) in shared.moved().await {
            let change = Change { ahead: Some(ahead), ..Change::default() };
            match context.recorder.record(&id, change).await {
                // Started, finished or deleted since: its position no longer matters.
                Ok(_) => {}
                Err(error) if error.is_moot() => {}
                Err(error) => {
                    tracing::warn!(upload = %id, %error, "announcing a queue position failed")
                }
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the map half-updated.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::shown_position;

    #[test]
    fn positions_are_exact_near_the_front_and_rounded_up_beyond() {
        let shown: Vec<u32> = [0, 1, 10, 11, 20, 99, 101, 1001].map(shown_position).to_vec();
        assert_eq!(shown, [0, 1, 10, 20, 20, 100, 200, 2000]);
    }
}
