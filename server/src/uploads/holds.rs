//! One request at a time adds bytes to a resumable upload.

use std::{collections::HashMap, sync::Mutex};

use shared::UploadId;
use tokio_util::sync::CancellationToken;

/// Who adds bytes to which resumable upload now: one request per upload. A newer
/// request asks the holder to stop (tusd's "request unlock") and waits for it to let
/// go, so a client that reconnects is never turned away by its own broken request.
#[derive(Debug, Default)]
pub struct Holds {
    held: Mutex<HashMap<UploadId, Held>>,
}

/// An upload's current holder's stop signal, and the lock each holder takes.
type Held = (CancellationToken, std::sync::Arc<tokio::sync::Mutex<()>>);

/// One request's hold on an upload.
pub struct Hold {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    /// Cancelled when a newer request wants the upload.
    pub stop: CancellationToken,
}

impl Holds {
    pub async fn take(&self, id: &UploadId) -> Hold {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            let (stop, lock) = held.entry(id.clone()).or_default();
            stop.cancel();
            lock.clone()
        };
        let guard = lock.lock_owned().await;
        let stop = CancellationToken::new();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = held.get_mut(id) {
            entry.0 = stop.clone();
        }
        Hold { _guard: guard, stop }
    }

    /// The upload needs no holds any more (complete, or gone).
    pub fn forget(&self, id: &UploadId) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}
