//! One request at a time adds bytes to a resumable upload.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use shared::UploadId;
use tokio_util::sync::CancellationToken;

/// Who adds bytes to which resumable upload now: one request per upload. A newer
/// request asks the holder to stop (tusd's "request unlock") and waits for it to let
/// go, so a client that reconnects is never turned away by its own broken request.
/// Entries last only while someone holds or waits, so memory follows what is in use.
#[derive(Debug, Default)]
pub struct Holds {
    held: Arc<Mutex<HashMap<UploadId, Held>>>,
}

/// One upload's lock, its holder's stop signal, and how many have asked for it: a
/// holder that a newer request asked for while it waited starts stopped.
#[derive(Debug, Default)]
struct Held {
    lock: Arc<tokio::sync::Mutex<()>>,
    stop: CancellationToken,
    asked: u64,
}

/// One request's hold on an upload; dropping it lets the next one in.
pub struct Hold {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Cancelled when a newer request wants the upload.
    pub stop: CancellationToken,
    id: UploadId,
    held: Arc<Mutex<HashMap<UploadId, Held>>>,
}

impl Holds {
    pub async fn take(&self, id: &UploadId) -> Hold {
        let (lock, asked) = {
            let mut held = locked(&self.held);
            let entry = held.entry(id.clone()).or_default();
            entry.stop.cancel();
            entry.asked += 1;
            (entry.lock.clone(), entry.asked)
        };
        let guard = lock.lock_owned().await;
        let stop = CancellationToken::new();
        let mut held = locked(&self.held);
        if let Some(entry) = held.get_mut(id) {
            if entry.asked == asked {
                entry.stop = stop.clone();
            } else {
                // A newer request came while this one waited: it goes first.
                stop.cancel();
            }
        }
        Hold { guard: Some(guard), stop, id: id.clone(), held: Arc::clone(&self.held) }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut held = locked(&self.held);
        self.guard.take();
        // Nobody else holds or waits (only the map's own reference is left): forget it.
        if held.get(&self.id).is_some_and(|entry| Arc::strong_count(&entry.lock) == 1) {
            held.remove(&self.id);
        }
    }
}

fn locked(held: &Mutex<HashMap<UploadId, Held>>) -> MutexGuard<'_, HashMap<UploadId, Held>> {
    // The map holds locks and tokens only; a panic elsewhere cannot leave it half-updated.
    held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> UploadId {
        UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap()
    }

    #[tokio::test]
    async fn a_newer_request_stops_the_holder_and_entries_go_when_unused() {
        let holds = Holds::default();
        let first = holds.take(&id()).await;
        assert!(!first.stop.is_cancelled());
        let second = tokio::spawn({
            let holds = Arc::clone(&holds.held);
            async move { Holds { held: holds }.take(&id()).await }
        });
        first.stop.cancelled().await;
        drop(first);
        let second = second.await.unwrap();
        assert!(!second.stop.is_cancelled(), "the newest holds it");
        drop(second);
        assert!(locked(&holds.held).is_empty(), "nothing left once nobody holds or waits");
    }
}
