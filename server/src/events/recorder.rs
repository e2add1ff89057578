//! Records changes (durably, which assigns each event its id) and publishes them.

use std::sync::Arc;

use shared::{Upload, UploadId};
use tokio::sync::Mutex;

use super::EventBus;
use crate::{
    store::{MetadataRepo, StoreError},
    uploads::lifecycle::Change,
};

/// The one door through which upload state changes.
///
/// Commit-then-publish happens under one lock so events reach the bus in id order: a
/// stream can then skip anything at or below the last id it sent without ever dropping
/// an event that committed earlier but was published later.
pub struct Recorder {
    repo: Arc<dyn MetadataRepo>,
    bus: Arc<dyn EventBus>,
    order: Mutex<()>,
}

impl Recorder {
    pub fn new(repo: Arc<dyn MetadataRepo>, bus: Arc<dyn EventBus>) -> Self {
        Self { repo, bus, order: Mutex::new(()) }
    }

    pub fn repo(&self) -> &Arc<dyn MetadataRepo> {
        &self.repo
    }

    pub fn bus(&self) -> &Arc<dyn EventBus> {
        &self.bus
    }

    /// Stores a new upload of `owner`'s.
    pub async fn create(
        &self,
        owner: &str,
        upload: Upload,
        change: Change,
    ) -> Result<Upload, StoreError> {
        let _order = self.order.lock().await;
        let (upload, event) = self.repo.insert(owner, upload, change).await?;
        self.bus.publish(Arc::new(event));
        Ok(upload)
    }

    pub async fn record(&self, id: &UploadId, change: Change) -> Result<Upload, StoreError> {
        let _order = self.order.lock().await;
        let (upload, event) = self.repo.record(id, change).await?;
        self.bus.publish(Arc::new(event));
        Ok(upload)
    }

    pub async fn remove(&self, id: &UploadId) -> Result<(), StoreError> {
        let _order = self.order.lock().await;
        if let Some(event) = self.repo.remove(id).await? {
            self.bus.publish(Arc::new(event));
        }
        Ok(())
    }
}
