//! Records changes (durably, which assigns each event its id) and publishes them.

use std::{future::Future, sync::Arc};

use shared::{AccountId, Upload, UploadId};
use tokio::sync::Mutex;

use super::EventBus;
use crate::{
    domain::{Change, StoredEvent},
    store::{ChangeError, MetadataRepo, StoreError},
};

/// The one door through which upload state changes.
///
/// Commit-then-publish happens under one lock so events reach the bus in id order: a
/// stream can then skip anything at or below the last id it sent without ever dropping
/// an event that committed earlier but was published later. (On several nodes the bus
/// publishes nothing itself, the follower does, in id order, and the lock only makes
/// this node's changes take turns.)
pub struct Recorder {
    repo: Arc<dyn MetadataRepo>,
    bus: Arc<dyn EventBus>,
    order: Arc<Mutex<()>>,
}

impl Recorder {
    pub fn new(repo: Arc<dyn MetadataRepo>, bus: Arc<dyn EventBus>) -> Self {
        Self { repo, bus, order: Arc::default() }
    }

    pub fn repo(&self) -> &Arc<dyn MetadataRepo> {
        &self.repo
    }

    /// Stores a new upload of `owner`'s.
    pub async fn create(
        &self,
        owner: &AccountId,
        upload: Upload,
        change: Change,
    ) -> Result<Upload, ChangeError> {
        let owner = owner.clone();
        self.commit(|repo| async move {
            let (upload, event) = repo.insert(&owner, upload, change).await?;
            Ok((upload, Some(event)))
        })
        .await
    }

    pub async fn record(&self, id: &UploadId, change: Change) -> Result<Upload, ChangeError> {
        let id = id.clone();
        self.commit(|repo| async move {
            let (upload, event) = repo.record(&id, change).await?;
            Ok((upload, Some(event)))
        })
        .await
    }

    pub async fn remove(&self, id: &UploadId) -> Result<(), StoreError> {
        let id = id.clone();
        self.commit(|repo| async move { Ok(((), repo.remove(&id).await?)) }).await
    }

    /// Commits a change and publishes its event in a task of its own. Callers go away
    /// midway all the time (a client hangs up, a job is stopped); the change they asked
    /// for then still commits and publishes as one, so no event is ever committed but
    /// never published, and no transaction is left open holding the store's write lock.
    async fn commit<T, E, F, Fut>(&self, change: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(Arc<dyn MetadataRepo>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(T, Option<StoredEvent>), E>> + Send,
    {
        let (repo, bus, order) = (self.repo.clone(), self.bus.clone(), self.order.clone());
        let task = tokio::spawn(async move {
            let _order = order.lock().await;
            let (value, event) = change(repo).await?;
            if let Some(event) = event {
                bus.publish(Arc::new(event));
            }
            Ok(value)
        });
        match task.await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Only when the runtime itself is shutting down.
            Err(_) => Err(StoreError::Stopped.into()),
        }
    }
}
