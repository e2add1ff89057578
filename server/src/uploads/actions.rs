//! What an account may do to one of its uploads once it exists: cancel it, run it
//! again, or remove it with everything it left behind.

use shared::{AccountId, ErrorBody, ErrorCode, Upload, UploadId, UploadStatus};

use super::{UploadError, Uploads};
use crate::{
    domain::{Change, Refused},
    store::BlobKey,
};

impl Uploads {
    /// `owner`'s upload `id`; [`UploadError::NotFound`] when it does not exist or is
    /// someone else's, so another account's upload is indistinguishable from none.
    pub async fn find(&self, owner: &AccountId, id: &UploadId) -> Result<Upload, UploadError> {
        self.repo.get_owned(owner, id).await?.ok_or(UploadError::NotFound)
    }

    /// Stops an upload still arriving (its partial bytes are thrown away), or a queued or
    /// running job (its bytes stay, so it can be retried). Returns the cancelled upload.
    pub async fn cancel(&self, owner: &AccountId, id: &UploadId) -> Result<Upload, UploadError> {
        let upload = self.find(owner, id).await?;
        if upload.status.is_terminal() {
            return Err(UploadError::rejected(
                ErrorCode::InvalidState,
                format!(
                    "only an unfinished upload can be cancelled; this one is {}",
                    upload.status.as_str()
                ),
            ));
        }
        // Recorded first: from here on the job's own changes are refused (nothing follows
        // a terminal status), so it cannot report progress or `done` after the `error`.
        let cancelled = Change::failed(
            UploadStatus::Cancelled,
            ErrorBody::new(ErrorCode::Cancelled, "the upload was cancelled"),
        );
        let upload =
            self.recorder.record(&upload.id, cancelled).await.map_err(
                |e| match UploadError::from(e) {
                    UploadError::Refused(Refused::Finished) => UploadError::rejected(
                        ErrorCode::InvalidState,
                        "the upload finished meanwhile",
                    ),
                    other => other,
                },
            )?;
        // Then the work stops: out of the queue, or the running job and its parser.
        self.jobs.cancel(&upload.id, upload.attempt).await;
        // A resumable upload's bytes so far go too: it will not be finished.
        self.digests.forget(&upload.id);
        self.blobs.delete(&BlobKey::Partial(upload.id.clone())).await?;
        tracing::info!(upload = %upload.id, "upload cancelled");
        Ok(upload)
    }

    /// Runs a failed or cancelled upload's job again, from the stored bytes: the upload,
    /// `queued` again with the next `attempt`. Refused (with the reason) otherwise.
    pub async fn retry(&self, owner: &AccountId, id: &UploadId) -> Result<Upload, UploadError> {
        let upload = self.find(owner, id).await?;
        let retry = Change { retry: true, ..Change::default() };
        let upload = self.recorder.record(&upload.id, retry).await?;
        self.jobs.enqueue(owner, upload.id.clone(), upload.attempt).await;
        tracing::info!(upload = %upload.id, attempt = upload.attempt, "upload retried");
        Ok(upload)
    }

    /// Removes an upload: its job stops, its record and events go (announced by a
    /// `deleted` error if it had not finished), its blobs are deleted, and its bytes stop
    /// counting against the quota.
    pub async fn remove(&self, owner: &AccountId, id: &UploadId) -> Result<(), UploadError> {
        let upload = self.find(owner, id).await?;
        self.jobs.cancel(&upload.id, upload.attempt).await;
        self.digests.forget(&upload.id);
        self.recorder.remove(&upload.id).await?;
        for key in BlobKey::all_of(&upload.id) {
            self.blobs.delete(&key).await?;
        }
        // Only stored bytes (they have a checksum) count against the quota: one still
        // arriving, or cancelled while arriving, gave its reservation back itself.
        if upload.sha256.is_some() {
            self.quotas.release(owner, upload.size);
        }
        Ok(())
    }
}
