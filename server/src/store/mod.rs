//! Where bytes and metadata live: small traits, picked once at start-up, with the
//! embedded defaults (the filesystem and SQLite) beside them.

mod accounts;
mod blobs;
mod fair;
mod jobs;
mod limits;
mod log;
pub mod migrate;
mod migrate_blobs;
mod postgres;
mod repo;
mod resumable;
mod sql;
mod sqlite;

pub use accounts::AccountRepo;
pub use blobs::{
    BlobAppender, BlobKey, BlobReader, BlobStore, BlobWriter, FsBlobStore, S3BlobStore, S3Location,
    S3Settings, MAX_BLOB,
};
pub use jobs::{Claim, JobQueue, MemoryQueue};
pub use limits::{LimitStore, PlaceId, SharedPlace};
pub use log::{EventLog, Scope, Snapshot};
pub use postgres::{PgRepo, Signal, Wake};
pub use repo::MetadataRepo;
pub use resumable::{Partial, Resumable, ResumableRepo};
pub use sqlite::SqliteRepo;

use crate::domain::Refused;

/// A failure of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such upload")]
    NotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    CorruptRow(String),
    /// The runtime shut down while a change was being recorded.
    #[error("the store was stopped")]
    Stopped,
}

/// Why a change to an upload was not recorded: the rules refused it (an outcome the
/// caller may expect, such as a job reporting after a cancel), or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ChangeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl ChangeError {
    /// The upload finished, left the queue, or is gone: a late change (a stopped job's,
    /// an old queue position) that is dropped.
    pub fn is_moot(&self) -> bool {
        matches!(
            self,
            Self::Refused(Refused::Finished | Refused::NotQueued)
                | Self::Store(StoreError::NotFound)
        )
    }
}
