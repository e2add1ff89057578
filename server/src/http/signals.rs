//! What a node does when another node (or itself, through the shared store) says that a
//! job was pushed, that a job must stop, that a session ended, or that a resumable
//! upload is wanted elsewhere or was let go of.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{processing::Jobs, store::Signal, uploads::holds::Holds};

/// Acts on `signals` until `shutdown`: a job pushed wakes the idle workers, a job to stop
/// stops here too, a session that ended closes the streams it opened here.
pub fn follow(
    mut signals: mpsc::Receiver<Signal>,
    jobs: Arc<Jobs>,
    holds: Arc<Holds>,
    sessions_ended: broadcast::Sender<Arc<str>>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let signal = tokio::select! {
                () = shutdown.cancelled() => return,
                signal = signals.recv() => signal,
            };
            match signal {
                Some(Signal::JobPushed) => jobs.wake(),
                Some(Signal::StopJob(id, attempt)) => jobs.stop_here(&id, attempt),
                // No receivers (no open streams here) is not an error.
                Some(Signal::SessionEnded(hash)) => drop(sessions_ended.send(hash)),
                Some(Signal::LetGo(id)) => holds.let_go(&id),
                Some(Signal::LetGoOf(_)) => holds.let_go_of(),
                None => return,
            }
        }
    });
}
