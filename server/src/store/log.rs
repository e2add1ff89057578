//! The durable event log, read side: what a stream replays after a client's
//! `Last-Event-ID`, the snapshot it starts from otherwise, the log's bounds, and
//! compaction. Events are appended only by [`MetadataRepo`](super::MetadataRepo)'s
//! changes, inside their own transactions, so an event is durable before anyone sees it
//! and ids are assigned at commit in commit order.

use async_trait::async_trait;
use shared::{AccountId, Upload, UploadId};

use super::StoreError;
use crate::domain::StoredEvent;

/// Which uploads a stream or query covers: always one account's, and perhaps only one
/// of them. There is deliberately no "everyone's" scope: no route can ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    owner: AccountId,
    upload: Option<UploadId>,
}

impl Scope {
    /// Every upload of `owner`, new ones included.
    pub fn account(owner: AccountId) -> Self {
        Self { owner, upload: None }
    }

    /// One upload of `owner`.
    pub fn upload(owner: AccountId, id: UploadId) -> Self {
        Self { owner, upload: Some(id) }
    }

    pub fn owner(&self) -> &AccountId {
        &self.owner
    }

    pub fn upload_id(&self) -> Option<&UploadId> {
        self.upload.as_ref()
    }

    pub fn contains(&self, event: &StoredEvent) -> bool {
        *event.owner == *self.owner.as_str()
            && self.upload.as_ref().is_none_or(|id| *id == event.upload_id)
    }
}

/// The present state of every upload in a scope, as of one point in the log.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The newest event id of the scope's account at the time of the snapshot (a backend
    /// numbering every account's events in one sequence may give the log's newest): live
    /// events after it follow.
    pub head: i64,
    /// Each upload with the id of its newest event, oldest change first.
    pub uploads: Vec<(i64, Upload)>,
}

#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` events in `scope` with ids greater than `after`, in id order.
    async fn events_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Every upload in `scope` as of one point in the log, with that point.
    async fn snapshot(&self, scope: &Scope) -> Result<Snapshot, StoreError>;

    /// Removes the events of uploads that finished at or before `before` (RFC 3339), and
    /// those of deleted uploads recorded by then, in batches that each move the horizon
    /// with their deletions. Returns how many were removed.
    async fn compact(&self, before: &str) -> Result<u64, StoreError>;

    /// `(horizon, head)` of `owner`'s events in one read: the highest id compaction has
    /// removed (resuming from below it could miss events, so such clients get a
    /// snapshot) and the newest id; each 0 when there is none. Ids grow within an
    /// account; a backend may also number all accounts' events in one sequence.
    async fn log_bounds(&self, owner: &AccountId) -> Result<(i64, i64), StoreError>;
}
