//! The metadata store: uploads and the durable event log, side by side so that a change
//! and the event announcing it commit together (the log is the store's outbox).

use std::collections::HashSet;

use async_trait::async_trait;
use shared::{Upload, UploadId};

use super::StoreError;
use crate::{events::StoredEvent, uploads::lifecycle::Change};

/// Which uploads a stream or query covers: always one account's, and perhaps only one
/// of them. There is deliberately no "everyone's" scope: no route can ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    owner: String,
    upload: Option<UploadId>,
}

impl Scope {
    /// Every upload of `owner`, new ones included.
    pub fn owner(owner: impl Into<String>) -> Self {
        Self { owner: owner.into(), upload: None }
    }

    /// One upload of `owner`.
    pub fn upload(owner: impl Into<String>, id: UploadId) -> Self {
        Self { owner: owner.into(), upload: Some(id) }
    }

    pub fn owner_id(&self) -> &str {
        &self.owner
    }

    pub fn upload_id(&self) -> Option<&UploadId> {
        self.upload.as_ref()
    }

    pub fn contains(&self, event: &StoredEvent) -> bool {
        *event.owner == *self.owner && self.upload.as_ref().is_none_or(|id| *id == event.upload_id)
    }
}

/// The present state of every upload in a scope, as of one point in the log.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The newest event id at the time of the snapshot; live events after it follow.
    pub head: i64,
    /// Each upload with the id of its newest event, oldest change first.
    pub uploads: Vec<(i64, Upload)>,
}

/// Uploads and their events. SQLite now; Postgres when Uplink runs on many nodes.
///
/// Every method that changes an upload appends exactly one event in the same
/// transaction and returns it: an event is durable before anyone can see it.
#[async_trait]
pub trait MetadataRepo: Send + Sync + 'static {
    /// Stores a new upload of `owner`, announcing it with `change` applied to it.
    async fn insert(
        &self,
        owner: &str,
        upload: Upload,
        change: Change,
    ) -> Result<(Upload, StoredEvent), StoreError>;

    /// Applies `change` under the lifecycle rules and logs the event it makes (and the
    /// page text it carries, if any) in one transaction. Page texts are a running job's
    /// checkpoint: the change that finishes the upload drops them in the same transaction.
    /// Callers must let it run to its end (the [`Recorder`](crate::events::Recorder) does).
    async fn record(
        &self,
        id: &UploadId,
        change: Change,
    ) -> Result<(Upload, StoredEvent), StoreError>;

    /// Deletes an upload. If it had not finished, its terminal `error` event (code
    /// `deleted`) is logged and returned.
    async fn remove(&self, id: &UploadId) -> Result<Option<StoredEvent>, StoreError>;

    /// Any upload, whoever owns it: for the server's own work, never for a request.
    async fn get(&self, id: &UploadId) -> Result<Option<Upload>, StoreError>;

    /// The upload if `owner` owns it. Requests read uploads through this alone, so another
    /// account's upload is indistinguishable from one that does not exist.
    async fn get_owned(&self, owner: &str, id: &UploadId) -> Result<Option<Upload>, StoreError>;

    /// Who owns an upload (for a request that proves its right with a token instead).
    async fn owner_of(&self, id: &UploadId) -> Result<Option<String>, StoreError>;

    /// All uploads of `owner`, newest first.
    async fn list(&self, owner: &str) -> Result<Vec<Upload>, StoreError>;

    /// Bytes `owner` has stored: the sizes of their uploads that are no longer being
    /// received (those still arriving are counted by the quota as they arrive).
    async fn stored_bytes(&self, owner: &str) -> Result<u64, StoreError>;

    /// Uploads not yet finished with their owners, those that were processing first, then
    /// oldest first (for recovery at start-up).
    async fn unfinished(&self) -> Result<Vec<(String, Upload)>, StoreError>;

    /// Up to `limit` events in `scope` with ids greater than `after`, in id order.
    async fn events_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    async fn snapshot(&self, scope: &Scope) -> Result<Snapshot, StoreError>;

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

    /// Removes the events of uploads that finished at or before `before` (RFC 3339), and
    /// those of deleted uploads recorded by then, in batches that each move the horizon
    /// with their deletions. Returns how many were removed.
    async fn compact(&self, before: &str) -> Result<u64, StoreError>;

    /// Which of `ids` still have an upload (stored files whose upload is gone are swept).
    async fn existing(&self, ids: &[UploadId]) -> Result<HashSet<UploadId>, StoreError>;

    /// `(horizon, head)` of the log in one read: the highest id compaction has removed
    /// (resuming from below it could miss events, so such clients get a snapshot) and the
    /// newest id; each 0 when there is none.
    async fn log_bounds(&self) -> Result<(i64, i64), StoreError>;

    /// Succeeds when the store can answer queries.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The server is stopping cleanly: everything it handed out is durable.
    async fn close(&self) -> Result<(), StoreError>;
}
