//! Blob storage: the uploaded bytes and the text extracted from them, and the partial
//! bytes of a resumable upload, which grow over several requests.
//!
//! Keys are built from validated upload ids, never from anything a client named, so no
//! request can choose a path.

mod fs;
mod s3;
mod s3_partial;
mod s3_write;

use std::{io, pin::Pin};

use async_trait::async_trait;
use shared::UploadId;
use tokio::io::AsyncRead;

pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Location, S3Settings, MAX_BLOB};

/// What a blob is: the original bytes or the extracted text of one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobKey {
    Original(UploadId),
    Text(UploadId),
    /// An image's small PNG.
    Thumbnail(UploadId),
    /// A resumable upload's bytes so far, until [`BlobStore::seal`] makes them its
    /// original.
    Partial(UploadId),
}

impl BlobKey {
    /// Every blob an upload can have, for removing them all.
    pub fn all_of(id: &UploadId) -> [BlobKey; 4] {
        [
            Self::Original(id.clone()),
            Self::Text(id.clone()),
            Self::Thumbnail(id.clone()),
            Self::Partial(id.clone()),
        ]
    }

    /// Where the blob lives under its store's root: `originals/<id>` and so on (on S3, a
    /// partial blob is the prefix of the several objects that make it up).
    fn name(&self) -> String {
        let (dir, id) = match self {
            Self::Original(id) => ("originals", id),
            Self::Text(id) => ("text", id),
            Self::Thumbnail(id) => ("thumbnails", id),
            Self::Partial(id) => ("partial", id),
        };
        format!("{dir}/{}", id.as_str())
    }
}

/// The directories of [`BlobKey::name`].
const KEY_DIRS: [&str; 4] = ["originals", "text", "thumbnails", "partial"];

/// A blob being written. Nothing is visible under its key until [`BlobWriter::commit`];
/// dropping a writer without committing leaves nothing behind that a reader can see.
#[async_trait]
pub trait BlobWriter: Send {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()>;
    /// Makes the blob durable and visible under its key.
    async fn commit(self: Box<Self>) -> io::Result<()>;
    /// Throws the partial blob away.
    async fn abort(self: Box<Self>);
}

pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// Bytes being added to the end of a partial blob. What was written counts only once
/// [`BlobAppender::sync`] has made it durable: a crash before that takes it back.
#[async_trait]
pub trait BlobAppender: Send {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable; the partial blob's length.
    async fn sync(&mut self) -> io::Result<u64>;
}

/// Where blobs live: files in the data directory, or S3-compatible object storage.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn create(&self, key: &BlobKey) -> io::Result<Box<dyn BlobWriter>>;
    /// Opens a committed blob, with its length.
    async fn open(&self, key: &BlobKey) -> io::Result<(BlobReader, u64)>;
    /// Opens a committed blob from byte `offset` on (a ranged read: a resumed download,
    /// a part of a large object), with the length of the whole blob.
    async fn open_at(&self, key: &BlobKey, offset: u64) -> io::Result<(BlobReader, u64)>;
    /// Removes a blob; a missing blob is not an error.
    async fn delete(&self, key: &BlobKey) -> io::Result<()>;
    /// The upload ids that have any blob stored, for sweeping those with no upload left.
    async fn stored_ids(&self) -> io::Result<Vec<UploadId>>;

    /// Opens upload `id`'s partial blob for adding bytes after its first `offset`, the
    /// length last reported durable (0 starts one). Bytes past `offset` (written but
    /// never made durable before a crash) are dropped; a blob shorter than `offset` is
    /// an `UnexpectedEof` error.
    async fn append(&self, id: &UploadId, offset: u64) -> io::Result<Box<dyn BlobAppender>>;

    /// Makes upload `id`'s partial blob, `length` bytes long, its original, durably. A
    /// missing partial blob is a `NotFound` error: sealed already, or never there.
    async fn seal(&self, id: &UploadId, length: u64) -> io::Result<()>;
}
