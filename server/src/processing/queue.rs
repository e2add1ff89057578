//! The job queue: `UPLINK_WORKERS` workers take uploads off one channel, so at most that
//! many files are processed at once, whatever arrives.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use shared::UploadId;
use tokio::sync::{mpsc, Mutex as AsyncMutex};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::worker::{self, WorkerContext};

pub struct Jobs {
    sender: mpsc::UnboundedSender<UploadId>,
    /// Running jobs, so DELETE can stop one. A std mutex: held only to insert, remove or
    /// look up, never across an await.
    running: Arc<Mutex<HashMap<UploadId, CancellationToken>>>,
    workers: TaskTracker,
    /// Stops the jobs that are running (at the end of the shutdown grace period).
    abort: CancellationToken,
}

impl Jobs {
    /// Starts `workers` workers. Once `shutdown` is cancelled they take no new job; see
    /// [`Jobs::drain`] for the ones running then.
    pub fn start(workers: usize, context: WorkerContext, shutdown: CancellationToken) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel::<UploadId>();
        let receiver = Arc::new(AsyncMutex::new(receiver));
        let running: Arc<Mutex<HashMap<UploadId, CancellationToken>>> = Arc::default();
        let tracker = TaskTracker::new();
        let abort = CancellationToken::new();
        for _ in 0..workers.max(1) {
            let receiver = Arc::clone(&receiver);
            let running = Arc::clone(&running);
            let context = context.clone();
            let shutdown = shutdown.clone();
            let abort = abort.clone();
            tracker.spawn(async move {
                loop {
                    let next = tokio::select! {
                        _ = shutdown.cancelled() => None,
                        id = async { receiver.lock().await.recv().await } => id,
                    };
                    let Some(id) = next else { break };
                    let cancel = abort.child_token();
                    lock(&running).insert(id.clone(), cancel.clone());
                    worker::process(&context, &id, &cancel).await;
                    lock(&running).remove(&id);
                }
            });
        }
        tracker.close();
        Self { sender, running, workers: tracker, abort }
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

    pub fn enqueue(&self, id: UploadId) {
        // Only fails once every worker has stopped at shutdown; the upload stays queued
        // in the store and is picked up on the next start.
        let _ = self.sender.send(id);
    }

    /// Stops the job for `id` if it is running; a queued job is skipped when its turn
    /// comes because its upload is gone or finished by then.
    pub fn cancel(&self, id: &UploadId) {
        if let Some(token) = lock(&self.running).get(id) {
            token.cancel();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock cannot leave the map half-updated.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
