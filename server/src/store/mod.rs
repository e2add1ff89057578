//! Where bytes and metadata live: small traits, picked once at start-up, with the
//! embedded defaults (the filesystem and SQLite) beside them.

mod accounts;
mod blobs;
mod repo;
mod sqlite;
mod sqlite_accounts;
mod sqlite_retention;

pub use accounts::{AccountRepo, User};
pub use blobs::{BlobKey, BlobReader, BlobStore, BlobWriter, FsBlobStore};
pub use repo::{MetadataRepo, Scope, Snapshot};
pub use sqlite::SqliteRepo;

/// A failure of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no such upload")]
    NotFound,
    /// The upload already reached a terminal status; nothing may follow that.
    #[error("the upload is already finished")]
    Finished,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    CorruptRow(String),
    /// A queue position for an upload that is no longer queued.
    #[error("the upload is no longer queued")]
    NotQueued,
    /// A retry of an upload that has not failed, or has not all its bytes.
    #[error("the upload cannot be retried")]
    NotRetriable,
    /// The runtime shut down while a change was being recorded.
    #[error("the store was stopped")]
    Stopped,
}

impl From<crate::uploads::lifecycle::Refused> for StoreError {
    fn from(refused: crate::uploads::lifecycle::Refused) -> Self {
        use crate::uploads::lifecycle::Refused;
        match refused {
            Refused::Finished => Self::Finished,
            Refused::NotQueued => Self::NotQueued,
            Refused::NotRetriable => Self::NotRetriable,
        }
    }
}
