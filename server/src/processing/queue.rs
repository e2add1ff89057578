//! The job queue: `UPLINK_WORKERS` workers take jobs in the fair order of [`FairQueue`],
//! so at most that many files are processed at once, whatever arrives, and every
//! waiting job is told how many jobs are ahead of it.
//!
//! The queue itself lives in memory; what makes it survive a restart is the store, where
//! a waiting upload stays `queued` until a worker takes it (see `AppState::recover`).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use shared::UploadId;
use tokio::sync::{Notify, Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    fair::FairQueue,
    worker::{self, WorkerContext},
};
use crate::{store::StoreError, uploads::lifecycle::Change};

pub struct Jobs {
    shared: Arc<Shared>,
    workers: TaskTracker,
    /// Stops the jobs that are running (at the end of the shutdown grace period).
    abort: CancellationToken,
}

struct Shared {
    /// A std mutex: held only to change the queue, never across an await.
    waiting: Mutex<Waiting>,
    /// One permit per job pushed; a worker takes one, then the next job (if any is left).
    ready: Semaphore,
    /// Running jobs, so cancel and delete can stop one. Numbered, because a retried
    /// upload's next run may start while its cancelled run is still winding down.
    running: Mutex<HashMap<UploadId, Vec<(u64, CancellationToken)>>>,
    /// The number the next job to start gets.
    started: std::sync::atomic::AtomicU64,
    /// Woken when the queue changed, so the announcer tells the jobs that moved.
    moved: Notify,
}

#[derive(Default)]
struct Waiting {
    queue: FairQueue,
    /// The position last announced for each waiting job.
    announced: HashMap<UploadId, u32>,
}

impl Waiting {
    /// The waiting jobs whose announced position no longer holds, with the new one.
    fn moved(&mut self) -> Vec<(UploadId, u32)> {
        let order = self.queue.order();
        let waiting: HashSet<&UploadId> = order.iter().copied().collect();
        self.announced.retain(|id, _| waiting.contains(id));
        let mut moved = Vec::new();
        for (ahead, id) in order.into_iter().enumerate() {
            let shown = shown_position(ahead);
            if self.announced.get(id) != Some(&shown) {
                self.announced.insert(id.clone(), shown);
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
    /// Starts `workers` workers. Once `shutdown` is cancelled they take no new job; see
    /// [`Jobs::drain`] for the ones running then.
    pub fn start(workers: usize, context: WorkerContext, shutdown: CancellationToken) -> Self {
        let shared = Arc::new(Shared {
            waiting: Mutex::default(),
            ready: Semaphore::new(0),
            running: Mutex::default(),
            started: Default::default(),
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
                    let permit = tokio::select! {
                        _ = shutdown.cancelled() => break,
                        permit = shared.ready.acquire() => permit,
                    };
                    // The semaphore is never closed.
                    if let Ok(permit) = permit {
                        permit.forget();
                    }
                    // None: the job was cancelled or deleted while it waited.
                    let Some(id) = shared.change_queue(FairQueue::pop) else { continue };
                    let cancel = abort.child_token();
                    let job = shared.started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    lock(&shared.running)
                        .entry(id.clone())
                        .or_default()
                        .push((job, cancel.clone()));
                    worker::process(&context, &id, &cancel).await;
                    let mut running = lock(&shared.running);
                    if let Some(runs) = running.get_mut(&id) {
                        runs.retain(|(n, _)| *n != job);
                        if runs.is_empty() {
                            running.remove(&id);
                        }
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

    /// Queues `owner`'s upload `id`. After shutdown began it simply waits in the store,
    /// `queued`, for the next start.
    pub fn enqueue(&self, owner: &str, id: UploadId) {
        self.shared.change_queue(|queue| queue.push(owner, id));
        self.shared.ready.add_permits(1);
    }

    /// Stops the job for `id`: takes it out of the queue, or cancels it if it is running.
    /// Returns whether there was a job to stop.
    pub fn cancel(&self, id: &UploadId) -> bool {
        if self.shared.change_queue(|queue| queue.remove(id)) {
            return true;
        }
        match lock(&self.shared.running).get(id) {
            Some(runs) => {
                runs.iter().for_each(|(_, token)| token.cancel());
                true
            }
            None => false,
        }
    }
}

impl Shared {
    /// Changes the queue and wakes the announcer.
    fn change_queue<T>(&self, change: impl FnOnce(&mut FairQueue) -> T) -> T {
        let result = change(&mut lock(&self.waiting).queue);
        self.moved.notify_one();
        result
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
        let moved = lock(&shared.waiting).moved();
        for (id, ahead) in moved {
            let change = Change { ahead: Some(ahead), ..Change::default() };
            match context.recorder.record(&id, change).await {
                // Started, finished or deleted since: its position no longer matters.
                Ok(_)
                | Err(StoreError::NotQueued | StoreError::Finished | StoreError::NotFound) => {}
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
