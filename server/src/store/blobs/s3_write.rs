//! Writing one blob to S3: a multipart upload of [`PART`]-byte parts, each sent while the
//! next one fills, or a single PUT for a blob smaller than a part. A multipart upload in
//! progress is recorded under `multipart/<name>/<uuid>` (one record per upload: a job run
//! again writes the same blob anew), so that removing the blob aborts it even when the
//! node writing it died.

use std::{io, sync::Arc};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use object_store::{
    multipart::{MultipartStore, PartId},
    path::Path,
    MultipartId, ObjectStore,
};
use tokio::task::JoinHandle;

use super::{
    s3::{io_error, Bucket, PART},
    BlobWriter,
};

/// Aborts the multipart uploads writers of blob `name` recorded and never finished
/// (their node died on the way), so that S3 does not keep their parts for good.
pub(super) async fn abort_recorded(bucket: &Arc<Bucket>, name: &str) -> io::Result<()> {
    for marker in bucket.list(&format!("multipart/{name}")).await? {
        let upload = match bucket.read(&marker).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            read => read?,
        };
        let upload = String::from_utf8_lossy(&upload).into_owned();
        let mut parts = Parts::new(Arc::clone(bucket), bucket.path(name), Some(upload));
        parts.abort().await;
        bucket.delete_all(&[marker]).await?;
    }
    Ok(())
}

/// The parts of one multipart upload: each is sent while the next one fills, one at a
/// time, so a writer holds at most the part being sent and the one being filled.
pub(super) struct Parts {
    bucket: Arc<Bucket>,
    pub(super) path: Path,
    pub(super) upload: Option<MultipartId>,
    /// The parts S3 has, in order.
    pub(super) sent: Vec<PartId>,
    sending: Option<JoinHandle<object_store::Result<PartId>>>,
}

impl Parts {
    pub(super) fn new(bucket: Arc<Bucket>, path: Path, upload: Option<MultipartId>) -> Self {
        Self { bucket, path, upload, sent: Vec::new(), sending: None }
    }

    /// Starts the multipart upload if it is not yet; `true` when this call started it.
    pub(super) async fn start(&mut self) -> io::Result<bool> {
        if self.upload.is_some() {
            return Ok(false);
        }
        self.upload = Some(self.bucket.s3.create_multipart(&self.path).await.map_err(io_error)?);
        Ok(true)
    }

    /// Sends `part` as the next part, once the one before it is in.
    pub(super) async fn send(&mut self, part: Bytes) -> io::Result<()> {
        self.start().await?;
        self.settle().await?;
        let (bucket, path) = (Arc::clone(&self.bucket), self.path.clone());
        let upload = self.upload.clone().expect("started above");
        let index = self.sent.len();
        self.sending = Some(tokio::spawn(async move {
            bucket.s3.put_part(&path, &upload, index, part.into()).await
        }));
        Ok(())
    }

    /// Stops sending the part being sent, without waiting.
    pub(super) fn cancel(&mut self) {
        if let Some(sending) = self.sending.take() {
            sending.abort();
        }
    }

    /// Waits for the part being sent.
    pub(super) async fn settle(&mut self) -> io::Result<()> {
        if let Some(sending) = self.sending.take() {
            let part = sending.await.map_err(io::Error::other)?.map_err(io_error)?;
            self.sent.push(part);
        }
        Ok(())
    }

    /// Makes the parts sent the object at `path`.
    pub(super) async fn complete(&mut self) -> io::Result<()> {
        self.settle().await?;
        let upload = self.upload.take().expect("a started upload");
        let parts = std::mem::take(&mut self.sent);
        self.bucket.s3.complete_multipart(&self.path, &upload, parts).await.map_err(io_error)?;
        Ok(())
    }

    /// Throws the upload and its parts away, the one being sent included.
    pub(super) async fn abort(&mut self) {
        if let Some(sending) = self.sending.take() {
            sending.abort();
            let _ = sending.await;
        }
        if let Some(upload) = self.upload.take() {
            if let Err(error) = self.bucket.s3.abort_multipart(&self.path, &upload).await {
                tracing::warn!(path = %self.path, %error, "could not abort a multipart upload");
            }
        }
    }
}

/// A blob being written: parts once it outgrows one, a single PUT if it never does.
pub(super) struct S3BlobWriter {
    parts: Parts,
    /// `multipart/<name>/<uuid>`: the multipart upload's id while it is in progress.
    marker: String,
    buffer: BytesMut,
    finished: bool,
}

impl S3BlobWriter {
    pub(super) fn new(bucket: Arc<Bucket>, name: &str) -> Self {
        let parts = Parts::new(Arc::clone(&bucket), bucket.path(name), None);
        let marker = format!("multipart/{name}/{}", uuid::Uuid::now_v7());
        Self { parts, marker, buffer: BytesMut::new(), finished: false }
    }
}

#[async_trait]
impl BlobWriter for S3BlobWriter {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(chunk);
        while self.buffer.len() >= PART {
            if self.parts.start().await? {
                // Recorded, so that removing the blob aborts the upload even if this
                // node dies before it could (`BlobStore::delete`).
                let upload = self.parts.upload.clone().expect("just started");
                if let Err(e) = self.parts.bucket.put(&self.marker, upload.into()).await {
                    self.parts.abort().await;
                    return Err(e);
                }
            }
            // The part before must be in before this one leaves the buffer.
            self.parts.settle().await?;
            let part = self.buffer.split_to(PART).freeze();
            self.parts.send(part).await?;
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> io::Result<()> {
        self.finished = true;
        let rest = std::mem::take(&mut self.buffer).freeze();
        let done = match self.parts.upload {
            None => self.parts.bucket.s3.put(&self.parts.path, rest.into()).await.map(drop),
            Some(_) => {
                let sent = async {
                    if !rest.is_empty() {
                        self.parts.send(rest).await?;
                    }
                    self.parts.complete().await
                };
                let result = sent.await;
                if result.is_err() {
                    self.parts.abort().await;
                }
                let _ = self.parts.bucket.delete_all(&[self.marker.clone()]).await;
                return result;
            }
        };
        done.map_err(io_error)
    }

    async fn abort(mut self: Box<Self>) {
        self.finished = true;
        if self.parts.upload.is_some() {
            self.parts.abort().await;
            let _ = self.parts.bucket.delete_all(&[self.marker.clone()]).await;
        }
    }
}

impl Drop for S3BlobWriter {
    /// A writer dropped unfinished (its request failed on the way) leaves no multipart
    /// upload behind: S3 would keep, and bill, its parts for good.
    fn drop(&mut self) {
        if self.finished || self.parts.upload.is_none() {
            return;
        }
        let bucket = Arc::clone(&self.parts.bucket);
        let mut parts = Parts::new(bucket, self.parts.path.clone(), self.parts.upload.take());
        parts.sending = self.parts.sending.take();
        let marker = self.marker.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                parts.abort().await;
                let _ = parts.bucket.delete_all(&[marker]).await;
            });
        }
    }
}
