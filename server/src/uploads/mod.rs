//! Uploads as a domain: how their bytes come in, what may be done to one (cancel, retry,
//! remove), and what its history shows. Everything here is reached through
//! [`Uploads`], which holds the parts it uses and nothing of the HTTP layer's.

mod actions;
mod checksum;
mod error;
mod filename;
mod form;
pub mod history;
pub mod holds;
pub mod ingest;
pub mod quota;
pub mod resumable;

use std::sync::Arc;

pub use error::{find_cause, UploadError};
pub use filename::display_name;

use crate::{
    events::Recorder,
    processing::Jobs,
    store::{BlobStore, EventLog, MetadataRepo, ResumableRepo},
};

/// The parts of the server that uploads use, picked once at start-up.
#[derive(Clone)]
pub struct Uploads {
    pub repo: Arc<dyn MetadataRepo>,
    pub log: Arc<dyn EventLog>,
    pub blobs: Arc<dyn BlobStore>,
    /// The one door through which an upload's state changes.
    pub recorder: Arc<Recorder>,
    pub jobs: Arc<Jobs>,
    pub quotas: Arc<quota::Quotas>,
    /// Largest file and accepted types.
    pub limits: Arc<shared::UploadLimits>,
    pub max_upload_bytes: u64,
    /// What resumable (tus) uploads add, and who is adding bytes to which.
    pub resumable: Arc<dyn ResumableRepo>,
    pub holds: Arc<holds::Holds>,
    /// Each resumable upload's SHA-256 so far, so completing one need not read it again.
    pub digests: Arc<resumable::digests::Digests>,
}
