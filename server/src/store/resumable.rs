//! What a resumable (tus) upload adds to an upload: the length it promised (none yet
//! while deferred), its metadata as the client sent it, and when it expires unfinished.
//! Its offset is the upload's own `size`, the bytes durably stored so far.

use async_trait::async_trait;
use shared::{AccountId, UploadId};

use super::StoreError;

/// A resumable upload's own facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumable {
    /// `Upload-Length`; `None` while deferred (`Upload-Defer-Length: 1`).
    pub length: Option<u64>,
    /// `Upload-Metadata` as sent, for HEAD to echo.
    pub metadata: String,
    /// RFC 3339: an upload unfinished by then is removed.
    pub expires_at: String,
}

#[async_trait]
pub trait ResumableRepo: Send + Sync + 'static {
    /// Keeps `resumable` for upload `id`, which exists.
    async fn create_resumable(
        &self,
        id: &UploadId,
        resumable: &Resumable,
    ) -> Result<(), StoreError>;

    /// Upload `id`'s resumable facts, if it is a resumable upload.
    async fn resumable(&self, id: &UploadId) -> Result<Option<Resumable>, StoreError>;

    /// Sets a deferred length, once: `false` if it was already set.
    async fn set_length(&self, id: &UploadId, length: u64) -> Result<bool, StoreError>;

    /// Moves the expiry of upload `id` (each request that adds bytes does).
    async fn set_expiry(&self, id: &UploadId, expires_at: &str) -> Result<(), StoreError>;

    /// How many resumable uploads of `owner` are still arriving.
    async fn unfinished_of(&self, owner: &AccountId) -> Result<u64, StoreError>;

    /// The resumable uploads still unfinished that expired by `now`.
    async fn expired(&self, now: &str) -> Result<Vec<UploadId>, StoreError>;
}
