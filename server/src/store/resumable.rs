//! What a resumable (tus) upload adds to an upload: the length it promised (none yet
//! while deferred), its metadata as the client sent it, and when it expires unfinished.
//! Its offset is the upload's own `size`, the bytes durably stored so far.
//!
//! A *partial* upload (tus concatenation) is not an upload: nobody sees it on a
//! dashboard, it sends no events and is never processed. It only holds bytes until a
//! final upload takes them over, so it is kept apart, with its own offset.

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
    /// A final upload's `Upload-Concat` (`final;/api/tus/a /api/tus/b`), for HEAD.
    pub concat: Option<String>,
}

/// A partial upload: bytes for a final upload still to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub owner: AccountId,
    /// Its length, metadata and expiry; never `concat`.
    pub resumable: Resumable,
    /// The bytes durably stored.
    pub stored: u64,
    /// RFC 3339.
    pub created_at: String,
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

    /// Sets a deferred length, once, of an upload or a partial: `false` if it was
    /// already set.
    async fn set_length(&self, id: &UploadId, length: u64) -> Result<bool, StoreError>;

    /// Moves the expiry of upload or partial `id` (each request that adds bytes does).
    async fn set_expiry(&self, id: &UploadId, expires_at: &str) -> Result<(), StoreError>;

    /// How many resumable uploads and partials of `owner` are still arriving.
    async fn unfinished_of(&self, owner: &AccountId) -> Result<u64, StoreError>;

    /// The resumable uploads still unfinished, and the partials, that expired by `now`.
    async fn expired(&self, now: &str) -> Result<Vec<UploadId>, StoreError>;

    /// Keeps a new partial upload `id`.
    async fn create_partial(&self, id: &UploadId, partial: &Partial) -> Result<(), StoreError>;

    /// Partial upload `id`, if there is one.
    async fn partial(&self, id: &UploadId) -> Result<Option<Partial>, StoreError>;

    /// Records the bytes partial `id` has durably stored.
    async fn set_partial_stored(&self, id: &UploadId, stored: u64) -> Result<(), StoreError>;

    /// Forgets partial `id` (its bytes are the blob store's to delete): `false` if it
    /// was already gone.
    async fn remove_partial(&self, id: &UploadId) -> Result<bool, StoreError>;
}
