//! The metadata store's uploads: each change to one commits together with the event that
//! announces it, appended to the [`EventLog`](super::EventLog) in the same transaction
//! (the log is the store's outbox), and with a running job's checkpoint.

use std::collections::HashSet;

use async_trait::async_trait;
use shared::{AccountId, Upload, UploadId};

use super::{ChangeError, StoreError};
use crate::domain::{Change, StoredEvent};

/// Uploads and their checkpoints: SQLite embedded, PostgreSQL for several nodes.
///
/// Every method that changes an upload appends exactly one event in the same
/// transaction and returns it: an event is durable before anyone can see it.
#[async_trait]
pub trait MetadataRepo: Send + Sync + 'static {
    /// Stores a new upload of `owner`, announcing it with `change` applied to it.
    async fn insert(
        &self,
        owner: &AccountId,
        upload: Upload,
        change: Change,
    ) -> Result<(Upload, StoredEvent), ChangeError>;

    /// Applies `change` under the lifecycle rules (refused as [`ChangeError::Refused`]) and logs the event it makes (and the
    /// page text it carries, if any) in one transaction. Page texts are a running job's
    /// checkpoint: the change that finishes the upload drops them in the same transaction.
    /// Callers must let it run to its end (the events recorder runs each in a task of its own).
    async fn record(
        &self,
        id: &UploadId,
        change: Change,
    ) -> Result<(Upload, StoredEvent), ChangeError>;

    /// Deletes an upload. If it had not finished, its terminal `error` event (code
    /// `deleted`) is logged and returned.
    async fn remove(&self, id: &UploadId) -> Result<Option<StoredEvent>, StoreError>;

    /// Any upload, whoever owns it: for the server's own work, never for a request.
    async fn get(&self, id: &UploadId) -> Result<Option<Upload>, StoreError>;

    /// The upload if `owner` owns it. Requests read uploads through this alone, so another
    /// account's upload is indistinguishable from one that does not exist.
    async fn get_owned(
        &self,
        owner: &AccountId,
        id: &UploadId,
    ) -> Result<Option<Upload>, StoreError>;

    /// Who owns an upload (for a request that proves its right with a token instead).
    async fn owner_of(&self, id: &UploadId) -> Result<Option<AccountId>, StoreError>;

    /// All uploads of `owner`, newest first.
    async fn list(&self, owner: &AccountId) -> Result<Vec<Upload>, StoreError>;

    /// Bytes `owner` has stored: the sizes of their uploads that are no longer being
    /// received (those still arriving are counted by the quota as they arrive).
    async fn stored_bytes(&self, owner: &AccountId) -> Result<u64, StoreError>;

    /// Uploads not yet finished with their owners, those that were processing first, then
    /// oldest first (for recovery): every queued and processing one, and those still
    /// arriving that nobody is receiving any more (with one process, all of them; with
    /// several, those of a process whose heartbeat expired).
    async fn unfinished(&self) -> Result<Vec<(AccountId, Upload)>, StoreError>;

    /// The highest page whose text is stored for `id` (0 when none): where a resumed
    /// extraction starts again.
    async fn pages_done(&self, id: &UploadId) -> Result<u32, StoreError>;

    /// Up to `limit` stored page texts of `id` after page `after`, in page order.
    async fn page_texts(
        &self,
        id: &UploadId,
        after: u32,
        limit: u32,
    ) -> Result<Vec<(u32, String)>, StoreError>;

    /// Which of `ids` still have an upload or a partial upload (stored files whose upload
    /// is gone are swept).
    async fn existing(&self, ids: &[UploadId]) -> Result<HashSet<UploadId>, StoreError>;

    /// Succeeds when the store can answer queries.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The server is stopping cleanly: everything it handed out is durable.
    async fn close(&self) -> Result<(), StoreError>;
}
