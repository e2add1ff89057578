//! One request at a time adds bytes to a resumable upload, on any node.
//!
//! Within a node, a lock per upload. Across nodes sharing a store, the holder also takes
//! the upload's one place in the store ([`LimitStore`]); a request that finds it taken
//! asks every node to let go (`Signal::LetGo`: the holder saves what it has and lets go)
//! and tries again when told that a hold was let go of (`Signal::LetGoOf`), or after
//! [`RETRY`] should that word be lost. A holder on a node that died stops counting when
//! the node's heartbeat expires.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use shared::UploadId;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{LimitStore, SharedPlace};

/// The scope of a resumable upload's one place in a shared store.
const HOLD: &str = "tus-hold";

/// How long a request waits for word that a hold was let go of before trying again.
const RETRY: Duration = Duration::from_secs(1);

/// Who adds bytes to which resumable upload now: one request per upload. A newer
/// request asks the holder to stop (tusd's "request unlock") and waits for it to let
/// go, so a client that reconnects is never turned away by its own broken request.
/// Entries last only while someone holds or waits, so memory follows what is in use.
#[derive(Default)]
pub struct Holds {
    held: Arc<Mutex<HashMap<UploadId, Held>>>,
    /// The store several nodes share, when they do.
    shared: Option<Arc<dyn LimitStore>>,
    /// Woken whenever any node lets go of any upload.
    let_go_of: Arc<Notify>,
}

impl std::fmt::Debug for Holds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Holds").field("shared", &self.shared.is_some()).finish_non_exhaustive()
    }
}

/// One upload's lock, its holder's stop signal, and how many have asked for it: a
/// holder that a newer request asked for while it waited starts stopped.
#[derive(Debug, Default)]
struct Held {
    lock: Arc<tokio::sync::Mutex<()>>,
    stop: CancellationToken,
    asked: u64,
    /// Its holder has the upload's place across nodes: only such a holder is asked to
    /// let go by another node (a request here still waiting for the place is not; nor is
    /// it stopped by its own request to let go, which comes back to this node too).
    placed: bool,
}

/// One request's hold on an upload; dropping it lets the next one in.
pub struct Hold {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Cancelled when a newer request wants the upload.
    pub stop: CancellationToken,
    id: UploadId,
    held: Arc<Mutex<HashMap<UploadId, Held>>>,
    /// The upload's place in the shared store, and the store to tell when it goes.
    place: Option<(SharedPlace, Arc<dyn LimitStore>)>,
}

impl Holds {
    /// Holds within this process, and across the nodes of `shared` when given.
    pub fn new(shared: Option<Arc<dyn LimitStore>>) -> Self {
        Self { shared, ..Self::default() }
    }

    /// Another node's request wants upload `id`: the request holding it here stops.
    pub fn let_go(&self, id: &UploadId) {
        if let Some(entry) = locked(&self.held).get(id).filter(|entry| entry.placed) {
            entry.stop.cancel();
        }
    }

    /// A node let go of an upload: requests waiting for one try again.
    pub fn let_go_of(&self) {
        self.let_go_of.notify_waiters();
    }

    /// Holds upload `id`, on every node sharing a store: the request holding it is asked
    /// to let go, and this one waits for it.
    pub async fn take(&self, id: &UploadId) -> Hold {
        let mut hold = self.take_here(id).await;
        let Some(store) = &self.shared else { return hold };
        loop {
            let let_go_of = self.let_go_of.notified();
            match SharedPlace::take(store, HOLD, id.as_str(), 1).await {
                Ok(Some(place)) => {
                    hold.place = Some((place, Arc::clone(store)));
                    if let Some(entry) = locked(&self.held).get_mut(id) {
                        entry.placed = true;
                    }
                    return hold;
                }
                Ok(None) => {}
                // The store is away: the request goes on with this node's hold alone, as
                // its writes will tell it soon enough.
                Err(error) => {
                    tracing::warn!(upload = %id, %error, "could not hold an upload across nodes");
                    return hold;
                }
            }
            if let Err(error) = store.ask_to_let_go(id).await {
                tracing::warn!(upload = %id, %error, "could not ask the other nodes to let go");
            }
            // Even stopped by a newer request here (which waits for this one), it waits
            // for the place: what it does after, if only to let go, is then exclusive.
            tokio::select! {
                () = let_go_of => {}
                () = tokio::time::sleep(RETRY) => {}
            }
        }
    }

    async fn take_here(&self, id: &UploadId) -> Hold {
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
        let held = Arc::clone(&self.held);
        Hold { guard: Some(guard), stop, id: id.clone(), held, place: None }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        let placed = self.place.take();
        let mut held = locked(&self.held);
        if let Some((place, store)) = placed {
            if let Some(entry) = held.get_mut(&self.id) {
                entry.placed = false;
            }
            // Given back, then said so: whoever waits finds it free when it tries. (A
            // place not given back, with no runtime left, lapses with this node's life.)
            let id = self.id.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    place.give_back().await;
                    if let Err(error) = store.let_go_of(&id).await {
                        tracing::warn!(upload = %id, %error, "could not say an upload was let go of");
                    }
                });
            }
        }
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
            async move { Holds { held: holds, ..Holds::default() }.take(&id()).await }
        });
        first.stop.cancelled().await;
        drop(first);
        let second = second.await.unwrap();
        assert!(!second.stop.is_cancelled(), "the newest holds it");
        drop(second);
        assert!(locked(&holds.held).is_empty(), "nothing left once nobody holds or waits");
    }

    /// Two nodes' holds over one store that, like PostgreSQL's NOTIFY, tells every node
    /// (the asking one too) whatever any node asks.
    #[derive(Default)]
    struct Cluster {
        taken: Mutex<Option<crate::store::PlaceId>>,
        nodes: Mutex<Vec<std::sync::Weak<Holds>>>,
    }

    #[async_trait::async_trait]
    impl LimitStore for Cluster {
        async fn take_place(
            &self,
            _: &'static str,
            _: &str,
            _: u32,
        ) -> Result<Option<crate::store::PlaceId>, crate::store::StoreError> {
            let mut taken = self.taken.lock().unwrap();
            if taken.is_some() {
                return Ok(None);
            }
            let place = uuid::Uuid::now_v7();
            *taken = Some(place);
            Ok(Some(place))
        }
        async fn give_back(
            &self,
            place: crate::store::PlaceId,
        ) -> Result<(), crate::store::StoreError> {
            let mut taken = self.taken.lock().unwrap();
            if *taken == Some(place) {
                *taken = None;
            }
            Ok(())
        }
        async fn ask_to_let_go(&self, upload: &UploadId) -> Result<(), crate::store::StoreError> {
            for node in self.nodes.lock().unwrap().iter().filter_map(std::sync::Weak::upgrade) {
                node.let_go(upload);
            }
            Ok(())
        }
        async fn let_go_of(&self, _: &UploadId) -> Result<(), crate::store::StoreError> {
            for node in self.nodes.lock().unwrap().iter().filter_map(std::sync::Weak::upgrade) {
                node.let_go_of();
            }
            Ok(())
        }
        async fn attempt(
            &self,
            _: &'static str,
            _: &str,
            _: u32,
            _: Duration,
        ) -> Result<Option<Duration>, crate::store::StoreError> {
            unreachable!("holds count no attempts")
        }
        async fn refund(&self, _: &'static str, _: &str) -> Result<(), crate::store::StoreError> {
            unreachable!("holds count no attempts")
        }
        async fn clear(&self, _: &'static str, _: &str) -> Result<(), crate::store::StoreError> {
            unreachable!("holds count no attempts")
        }
        async fn add_bytes(
            &self,
            _: crate::store::PlaceId,
            _: &shared::AccountId,
            _: u64,
            _: u64,
        ) -> Result<bool, crate::store::StoreError> {
            unreachable!("holds count no bytes")
        }
        async fn release_bytes(
            &self,
            _: crate::store::PlaceId,
            _: u64,
        ) -> Result<(), crate::store::StoreError> {
            unreachable!("holds count no bytes")
        }
        async fn arriving(&self, _: &shared::AccountId) -> Result<u64, crate::store::StoreError> {
            unreachable!("holds count no bytes")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_on_another_node_waits_until_the_holder_let_go() {
        let store = Arc::new(Cluster::default());
        let shared: Arc<dyn LimitStore> = store.clone();
        let (a, b) =
            (Arc::new(Holds::new(Some(shared.clone()))), Arc::new(Holds::new(Some(shared))));
        store.nodes.lock().unwrap().extend([Arc::downgrade(&a), Arc::downgrade(&b)]);
        let on_a = a.take(&id()).await;
        let mut on_b = tokio::spawn({
            let b = Arc::clone(&b);
            async move { b.take(&id()).await }
        });
        // b asked every node, itself included, to let go: a's holder is told to stop,
        // and b's request goes on waiting (its own word must not stop it).
        on_a.stop.cancelled().await;
        let waited = tokio::time::timeout(RETRY * 3, &mut on_b).await;
        assert!(waited.is_err(), "b went on while a still held the upload");
        drop(on_a);
        let on_b = on_b.await.unwrap();
        assert!(on_b.place.is_some(), "b holds it across nodes now");
        assert!(!on_b.stop.is_cancelled(), "and is not asked to let go");
    }
}
