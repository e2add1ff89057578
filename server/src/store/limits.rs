//! Limits several nodes share, kept beside their metadata (PostgreSQL): attempts counted
//! in fixed windows (logins, registrations), and places held at once (uploads arriving,
//! event streams), each by the node life that holds it, with the bytes an arriving upload
//! has brought so far. One node alone keeps these counts in memory instead
//! (`auth::limiter`, `domain::slots`, `uploads::quota`); given a shared store, those
//! count there, so a limit holds across the cluster and not once per node.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use shared::{AccountId, UploadId};

use super::StoreError;

/// One place held, by its id.
pub type PlaceId = uuid::Uuid;

#[async_trait]
pub trait LimitStore: Send + Sync + 'static {
    /// Counts one attempt of `key` in `scope`'s current window of `window`, unless it has
    /// had `max` there already: then how long until the window ends (and it is not
    /// counted).
    async fn attempt(
        &self,
        scope: &'static str,
        key: &str,
        max: u32,
        window: Duration,
    ) -> Result<Option<Duration>, StoreError>;

    /// Gives one counted attempt back (it turned out not to count).
    async fn refund(&self, scope: &'static str, key: &str) -> Result<(), StoreError>;

    /// Forgets `key`'s attempts in `scope`.
    async fn clear(&self, scope: &'static str, key: &str) -> Result<(), StoreError>;

    /// Takes one of the `max` places `key` may hold in `scope` at once, held by this
    /// node until given back (or until its heartbeat expires); `None` when all are held.
    async fn take_place(
        &self,
        scope: &'static str,
        key: &str,
        max: u32,
    ) -> Result<Option<PlaceId>, StoreError>;

    async fn give_back(&self, place: PlaceId) -> Result<(), StoreError>;

    /// Counts `n` more bytes arriving on `owner`'s upload place `place`, unless what the
    /// account keeps and what arrives on all its places would then pass `max`: `false`.
    async fn add_bytes(
        &self,
        place: PlaceId,
        owner: &AccountId,
        n: u64,
        max: u64,
    ) -> Result<bool, StoreError>;

    /// Stops counting `n` of the bytes on place `place` (they are counted as kept now).
    async fn release_bytes(&self, place: PlaceId, n: u64) -> Result<(), StoreError>;

    /// The bytes arriving on `owner`'s upload places now.
    async fn arriving(&self, owner: &AccountId) -> Result<u64, StoreError>;

    /// Asks every node to let go of resumable upload `upload` (`Signal::LetGo`).
    async fn ask_to_let_go(&self, upload: &UploadId) -> Result<(), StoreError>;

    /// Tells every node that resumable upload `upload` was let go of.
    async fn let_go_of(&self, upload: &UploadId) -> Result<(), StoreError>;
}

/// A place held in a [`LimitStore`]; given back when dropped.
pub struct SharedPlace {
    store: Arc<dyn LimitStore>,
    id: PlaceId,
    /// Given back already (so not again when dropped).
    given: bool,
}

impl SharedPlace {
    pub fn new(store: Arc<dyn LimitStore>, id: PlaceId) -> Self {
        Self { store, id, given: false }
    }

    /// Takes one of `key`'s `max` places in `scope` (see [`LimitStore::take_place`]) on
    /// a task of its own: a request that goes away meanwhile (its client hung up) must
    /// not lose a place the database has already given it, which would count for good.
    pub async fn take(
        store: &Arc<dyn LimitStore>,
        scope: &'static str,
        key: &str,
        max: u32,
    ) -> Result<Option<Self>, StoreError> {
        let (taking, key) = (Arc::clone(store), key.to_owned());
        let (sent, taken) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let place = taking.take_place(scope, &key, max).await;
            if let Err(Ok(Some(id))) = sent.send(place) {
                give_back_soon(taking, id);
            }
        });
        let taken = taken.await.map_err(|_| StoreError::Stopped)?;
        Ok(taken?.map(|id| Self::new(Arc::clone(store), id)))
    }

    pub fn id(&self) -> PlaceId {
        self.id
    }

    /// Gives the place back now, so that what the caller does next (answering its
    /// client, whose next request may want the place) comes after. If the store is away,
    /// dropping it tries again in the background.
    pub async fn give_back(mut self) {
        self.given = self.store.give_back(self.id).await.is_ok();
    }
}

impl std::fmt::Debug for SharedPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedPlace").field(&self.id).finish()
    }
}

impl Drop for SharedPlace {
    /// Given back on its own, tried again until the store answers: a place never given
    /// back would count for as long as this node lives.
    fn drop(&mut self) {
        if !self.given {
            give_back_soon(Arc::clone(&self.store), self.id);
        }
    }
}

/// Gives `id` back in the background, trying again, at most every half minute, until it
/// is given.
fn give_back_soon(store: Arc<dyn LimitStore>, id: PlaceId) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let mut wait = Duration::from_millis(100);
            while let Err(error) = store.give_back(id).await {
                tracing::warn!(%error, "could not give back a shared place; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        });
    }
}
