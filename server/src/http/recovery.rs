//! What a server finds unfinished when it starts: uploads whose bytes stopped arriving
//! with the previous run, jobs to queue again, and stored files left without an upload.
//! On several nodes it also looks again and again for the uploads of nodes that stopped.

use shared::{ErrorBody, ErrorCode, UploadId, UploadStatus};

use super::state::{AppState, StartError};
use crate::{
    domain::Change,
    store::{BlobKey, ChangeError, StoreError},
    uploads::resumable,
};

impl AppState {
    /// Uploads a previous run was receiving (on several nodes: or a node that is gone)
    /// can never complete, their client's connection being gone, except resumable ones.
    /// At start, resumable ones whose bytes had all arrived are finished, and queued and
    /// processing ones are queued again; the periodic look of several nodes does neither
    /// (another node may be receiving a resumable upload's next request right now, and
    /// jobs come back by themselves when their lease runs out).
    pub(super) async fn recover(&self, at_start: bool) -> Result<(), StoreError> {
        for (owner, upload) in self.repo.unfinished().await? {
            if upload.status != UploadStatus::Uploading {
                if at_start {
                    self.jobs.enqueue(&owner, upload.id, upload.attempt).await;
                }
                continue;
            }
            // A resumable upload is waiting for its client, who goes on from its offset;
            // one whose bytes had all arrived when the server stopped is finished now.
            if self.uploads.resumable.resumable(&upload.id).await?.is_some() {
                if at_start {
                    let settled = resumable::settled(&self.uploads, &owner, &upload.id).await;
                    if let Err(error) = settled {
                        tracing::warn!(upload = %upload.id, %error, "a resumable upload stays as it was");
                    }
                }
                continue;
            }
            let interrupted = ErrorBody::new(
                ErrorCode::Interrupted,
                "the server stopped while this upload was being received",
            );
            let failed = Change::failed(UploadStatus::Failed, interrupted);
            match self.recorder.record(&upload.id, failed).await {
                // A refusal: it finished after all, and there is nothing to mark.
                Ok(_) | Err(ChangeError::Refused(_)) => {}
                Err(ChangeError::Store(error)) => return Err(error),
            }
            // Its bytes may have been committed just before the stop, ahead of the
            // record that would have kept them: nothing can use them now.
            self.delete_blobs(&upload.id).await;
        }
        Ok(())
    }

    /// Removes stored files whose upload no longer exists (the server stopped between
    /// deleting an upload's row and its files, or could not remove a failed upload's
    /// bytes): nothing could ever reach them, and they would take space for good.
    pub(super) async fn sweep_orphans(&self) -> Result<(), StartError> {
        let ids = self.blobs.stored_ids().await?;
        let known = self.repo.existing(&ids).await?;
        let orphans: Vec<_> = ids.into_iter().filter(|id| !known.contains(id)).collect();
        for id in &orphans {
            self.delete_blobs(id).await;
        }
        if !orphans.is_empty() {
            tracing::info!(removed = orphans.len(), "removed stored files that had no upload");
        }
        Ok(())
    }

    /// Removes every blob of upload `id`; a failure is logged, and the next start's sweep
    /// tries again.
    async fn delete_blobs(&self, id: &UploadId) {
        for key in BlobKey::all_of(id) {
            if let Err(error) = self.blobs.delete(&key).await {
                tracing::error!(upload = %id, %error, "could not remove a stored file");
            }
        }
    }

    /// Every lease, marks the multipart uploads that were arriving on a node that stopped
    /// (its heartbeat expired) as interrupted, until shutdown.
    pub(super) fn start_recovery_sweeps(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(state.config.job_lease);
            every.tick().await;
            loop {
                tokio::select! {
                    _ = state.shutdown.cancelled() => return,
                    _ = every.tick() => {}
                }
                if let Err(error) = state.recover(false).await {
                    tracing::error!(%error, "looking for other nodes' interrupted uploads failed");
                }
            }
        });
    }
}
