//! A resumable upload's partial blob on S3. It grows over requests that may each land
//! on another node, so everything about it lives in the bucket, under `partial/<id>/`,
//! laid out as tusd lays its uploads out:
//! - `multipart`: the id of the multipart upload whose parts hold the blob's first
//!   bytes, [`PART`] at a time. Its object is `originals/<id>`, which it becomes when
//!   sealed: the bytes are never copied again.
//! - `tail/<start>-<uuid>`: the bytes after the last part, too few to make one (S3's
//!   smallest part is 5 MiB), in the pieces that syncs wrote.
//! - `manifest/<length>`: written at each sync, the parts and tail pieces that make the
//!   blob's first `length` bytes. Appending at offset N starts from manifest N exactly,
//!   so whatever a request left after its last recorded sync is never read.
//! - `sealed`: marks a blob made whole to be read (a tus concatenation's partial), so
//!   that removing it removes the object it became.

use std::{collections::HashSet, io, sync::Arc};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use object_store::{
    multipart::{MultipartStore, PartId},
    ObjectStore,
};
use serde::{Deserialize, Serialize};
use shared::UploadId;

use super::{
    s3::{io_error, Bucket, Parts, PART},
    BlobAppender, BlobReader,
};

/// The parts and tail pieces that make a partial blob's first bytes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// The parts' ETags, in order, each [`PART`] bytes.
    parts: Vec<String>,
    /// The pieces of bytes after the parts, in order.
    tail: Vec<Piece>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Piece {
    name: String,
    len: u64,
}

impl Manifest {
    fn len(&self) -> u64 {
        let tail: u64 = self.tail.iter().map(|piece| piece.len).sum();
        self.parts.len() as u64 * PART as u64 + tail
    }
}

/// The names of one partial blob's objects.
struct Names {
    dir: String,
}

impl Names {
    fn of(id: &UploadId) -> Self {
        Self { dir: format!("partial/{}", id.as_str()) }
    }

    fn multipart(&self) -> String {
        format!("{}/multipart", self.dir)
    }

    fn sealed(&self) -> String {
        format!("{}/sealed", self.dir)
    }

    /// Zero-padded, so that names sort as lengths do.
    fn manifest(&self, len: u64) -> String {
        format!("{}/manifest/{len:020}", self.dir)
    }

    fn is_manifest(&self, name: &str) -> bool {
        name.starts_with(&format!("{}/manifest/", self.dir))
    }

    fn piece(&self, start: u64) -> String {
        format!("{}/tail/{start:020}-{}", self.dir, uuid::Uuid::now_v7())
    }
}

fn original(id: &UploadId) -> String {
    format!("originals/{}", id.as_str())
}

fn corrupt(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

async fn read_manifest(bucket: &Bucket, name: &str) -> io::Result<Manifest> {
    let bytes = bucket.read(name).await?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("{name}: {e}")))
}

/// The multipart upload the blob's parts belong to, if one was started.
async fn multipart(
    bucket: &Bucket,
    names: &Names,
    listed: &[String],
) -> io::Result<Option<String>> {
    if !listed.contains(&names.multipart()) {
        return Ok(None);
    }
    let id = bucket.read(&names.multipart()).await?;
    String::from_utf8(id.to_vec()).map(Some).map_err(|e| corrupt(e.to_string()))
}

/// The tail pieces' bytes, in order.
async fn read_tail(bucket: &Bucket, tail: &[Piece]) -> io::Result<BytesMut> {
    let mut bytes = BytesMut::new();
    for piece in tail {
        let read = bucket.read(&piece.name).await?;
        if read.len() as u64 != piece.len {
            return Err(corrupt(format!(
                "{} has {} bytes, not {}",
                piece.name,
                read.len(),
                piece.len
            )));
        }
        bytes.extend_from_slice(&read);
    }
    Ok(bytes)
}

/// Bytes being added to a partial blob: they fill a part in memory, which is sent
/// whole, and what is left at a sync goes into a tail piece.
pub(super) struct Appender {
    bucket: Arc<Bucket>,
    names: Names,
    parts: Parts,
    /// The pieces holding `buffer[..persisted]`.
    tail: Vec<Piece>,
    /// The bytes after the last part.
    buffer: BytesMut,
    persisted: usize,
    len: u64,
    /// The length of the last manifest written (or found), which needs no other.
    synced: Option<u64>,
    /// The manifests this appender found and wrote, oldest first: all but the last two
    /// go at a sync (the database has recorded the one before the last by then).
    written: Vec<u64>,
    /// A write or a sync failed: what is in memory no longer matches the bucket, so
    /// nothing more is written or reported durable.
    broken: bool,
}

impl Drop for Appender {
    /// A part still being sent is stopped: its bytes were never made durable, and the
    /// next request sends that part again.
    fn drop(&mut self) {
        self.parts.cancel();
    }
}

impl Appender {
    /// Goes on from the blob's first `offset` bytes, as manifest `offset` made them.
    pub(super) async fn open(bucket: Arc<Bucket>, id: &UploadId, offset: u64) -> io::Result<Self> {
        let names = Names::of(id);
        let listed = bucket.list(&names.dir).await?;
        if listed.contains(&names.sealed()) {
            return Err(io::Error::other("the partial blob was made whole already"));
        }
        let wanted = names.manifest(offset);
        let found = listed.contains(&wanted);
        let manifest = match found {
            true => read_manifest(&bucket, &wanted).await?,
            false if offset == 0 => Manifest::default(),
            // As a file would be: missing, or shorter than `offset`.
            false => {
                let kind = match listed.iter().any(|name| names.is_manifest(name)) {
                    true => io::ErrorKind::UnexpectedEof,
                    false => io::ErrorKind::NotFound,
                };
                let message = format!("the partial blob has no manifest of {offset} bytes");
                return Err(io::Error::new(kind, message));
            }
        };
        if manifest.len() != offset {
            return Err(corrupt(format!("manifest {offset} makes {} bytes", manifest.len())));
        }
        let upload = multipart(&bucket, &names, &listed).await?;
        if upload.is_none() && !manifest.parts.is_empty() {
            return Err(corrupt("parts but no multipart upload".into()));
        }
        // What requests that died after this sync left: nothing will ever read it.
        let keep: HashSet<&str> = manifest.tail.iter().map(|piece| piece.name.as_str()).collect();
        let multipart_name = names.multipart();
        let stale: Vec<String> = listed
            .iter()
            .filter(|name| **name != wanted && **name != multipart_name)
            .filter(|name| !keep.contains(name.as_str()))
            .cloned()
            .collect();
        bucket.delete_all(&stale).await?;
        // The tail comes back into memory, to fill the next part.
        let buffer = read_tail(&bucket, &manifest.tail).await?;
        let mut parts = Parts::new(Arc::clone(&bucket), bucket.path(&original(id)), upload);
        parts.sent = manifest.parts.into_iter().map(|content_id| PartId { content_id }).collect();
        Ok(Self {
            bucket,
            names,
            parts,
            persisted: buffer.len(),
            tail: manifest.tail,
            buffer,
            len: offset,
            synced: found.then_some(offset),
            written: found.then_some(offset).into_iter().collect(),
            broken: false,
        })
    }

    async fn fill(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(chunk);
        self.len += chunk.len() as u64;
        while self.buffer.len() >= PART {
            if self.parts.start().await? {
                let upload = self.parts.upload.clone().expect("just started");
                if let Err(e) = self.bucket.put(&self.names.multipart(), upload.into()).await {
                    // Unrecorded, nothing else would ever abort it.
                    self.parts.abort().await;
                    return Err(e);
                }
            }
            // The part before must be in before this one leaves the buffer: if it
            // failed, the bytes are still here (and the appender is broken anyway).
            self.parts.settle().await?;
            self.parts.send(self.buffer.split_to(PART).freeze()).await?;
            // The pieces held bytes that are a part's now; the rest is rewritten at the
            // next sync, into a piece of its own.
            self.tail.clear();
            self.persisted = 0;
        }
        Ok(())
    }

    async fn persist(&mut self) -> io::Result<u64> {
        self.parts.settle().await?;
        if self.buffer.len() > self.persisted {
            let fresh = Bytes::copy_from_slice(&self.buffer[self.persisted..]);
            let name = self.names.piece(self.len - fresh.len() as u64);
            let len = fresh.len() as u64;
            self.bucket.put(&name, fresh).await?;
            self.tail.push(Piece { name, len });
            self.persisted = self.buffer.len();
        }
        let parts = self.parts.sent.iter().map(|part| part.content_id.clone()).collect();
        let manifest = Manifest { parts, tail: self.tail.clone() };
        if manifest.len() != self.len {
            let message = format!("a manifest of {} bytes for {}", manifest.len(), self.len);
            return Err(corrupt(message));
        }
        let json = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
        self.bucket.put(&self.names.manifest(self.len), json.into()).await?;
        self.synced = Some(self.len);
        self.written.push(self.len);
        if self.written.len() > 2 {
            let old: Vec<u64> = self.written.drain(..self.written.len() - 2).collect();
            let old: Vec<String> = old.into_iter().map(|len| self.names.manifest(len)).collect();
            // Only tidying: the next request's start removes what this leaves.
            let _ = self.bucket.delete_all(&old).await;
        }
        Ok(self.len)
    }
}

#[async_trait]
impl BlobAppender for Appender {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other("an earlier write to this partial blob failed"));
        }
        let written = self.fill(chunk).await;
        self.broken = written.is_err();
        written
    }

    async fn sync(&mut self) -> io::Result<u64> {
        if self.broken {
            return Err(io::Error::other("an earlier write to this partial blob failed"));
        }
        if self.synced == Some(self.len) {
            return Ok(self.len);
        }
        let synced = self.persist().await;
        self.broken = synced.is_err();
        synced
    }
}

/// Makes the blob `manifest` describes the object `originals/<id>`: the tail is its
/// last part, or the whole of a blob smaller than one.
async fn make_whole(
    bucket: &Arc<Bucket>,
    id: &UploadId,
    manifest: Manifest,
    upload: Option<String>,
) -> io::Result<()> {
    let tail = read_tail(bucket, &manifest.tail).await?.freeze();
    let mut parts = Parts::new(Arc::clone(bucket), bucket.path(&original(id)), upload);
    parts.sent = manifest.parts.into_iter().map(|content_id| PartId { content_id }).collect();
    if parts.sent.is_empty() {
        bucket.put(&original(id), tail).await?;
        // A multipart upload started by a request none of whose parts counted.
        parts.abort().await;
        return Ok(());
    }
    if parts.upload.is_none() {
        return Err(corrupt("parts but no multipart upload".into()));
    }
    if !tail.is_empty() {
        parts.send(tail).await?;
    }
    parts.complete().await
}

/// Makes upload `id`'s partial blob of `length` bytes its original.
pub(super) async fn seal(bucket: &Arc<Bucket>, id: &UploadId, length: u64) -> io::Result<()> {
    let names = Names::of(id);
    let listed = bucket.list(&names.dir).await?;
    // Sealed before, and stopped before its objects were all removed.
    let sealed = bucket.s3.head(&bucket.path(&original(id))).await;
    if sealed.as_ref().is_ok_and(|meta| meta.size == length) || listed.is_empty() {
        remove(bucket, &names, listed).await?;
        sealed.map_err(io_error)?;
        return Err(io::Error::new(io::ErrorKind::NotFound, "sealed already"));
    }
    if !listed.contains(&names.manifest(length)) {
        let message = format!("the partial blob has no manifest of {length} bytes");
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
    }
    let manifest = read_manifest(bucket, &names.manifest(length)).await?;
    let upload = multipart(bucket, &names, &listed).await?;
    make_whole(bucket, id, manifest, upload).await?;
    remove(bucket, &names, listed).await
}

/// Removes a partial blob's objects, its manifests and its upload's record last: a
/// removal cut short leaves what a later seal or removal needs.
async fn remove(bucket: &Bucket, names: &Names, listed: Vec<String>) -> io::Result<()> {
    let last = |name: &String| names.is_manifest(name) || *name == names.multipart();
    let (late, early): (Vec<String>, Vec<String>) = listed.into_iter().partition(last);
    bucket.delete_all(&early).await?;
    bucket.delete_all(&late).await
}

/// Reads a partial blob from `offset`: one smaller than a part from its tail pieces,
/// any other by making it whole first (a multipart upload's parts cannot be read), after
/// which it takes no more bytes. Only a tus concatenation reads a partial blob, and only
/// one that has all its bytes.
pub(super) async fn open(
    bucket: &Arc<Bucket>,
    id: &UploadId,
    offset: u64,
) -> io::Result<(BlobReader, u64)> {
    let names = Names::of(id);
    let listed = bucket.list(&names.dir).await?;
    if listed.contains(&names.sealed()) {
        match bucket.open_at(&original(id), offset).await {
            // Marked, and stopped before it was made whole: it is made whole now.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            opened => return opened,
        }
    }
    let latest = listed.iter().filter(|name| names.is_manifest(name)).max();
    let latest =
        latest.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no partial blob"))?;
    let manifest = read_manifest(bucket, latest).await?;
    if manifest.parts.is_empty() {
        let bytes = read_tail(bucket, &manifest.tail).await?.freeze();
        let len = bytes.len() as u64;
        let rest = bytes.slice((offset.min(len) as usize)..);
        return Ok((Box::pin(io::Cursor::new(rest)), len));
    }
    // Marked first: a crash after the upload completes still removes what it became.
    if !listed.contains(&names.sealed()) {
        bucket.put(&names.sealed(), Bytes::new()).await?;
    }
    let upload = multipart(bucket, &names, &listed).await?;
    make_whole(bucket, id, manifest, upload).await?;
    bucket.open_at(&original(id), offset).await
}

/// Removes a partial blob: its objects, its multipart upload's parts, and the object it
/// was made into to be read.
pub(super) async fn delete(bucket: &Arc<Bucket>, id: &UploadId) -> io::Result<()> {
    let names = Names::of(id);
    let listed = bucket.list(&names.dir).await?;
    if let Some(upload) = multipart(bucket, &names, &listed).await? {
        // Already gone if it was completed, which is not an error here.
        let path = bucket.path(&original(id));
        if let Err(error) = bucket.s3.abort_multipart(&path, &upload).await {
            tracing::debug!(upload = %id, %error, "the multipart upload was already gone");
        }
    }
    if listed.contains(&names.sealed()) {
        bucket.delete_all(&[original(id)]).await?;
    }
    remove(bucket, &names, listed).await
}
