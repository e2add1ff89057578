//! Resumable uploads (tus): an upload whose bytes come in several requests, each
//! appending at the offset the server last made durable. The same upload as a multipart
//! one, through the same recorder, limits and pipeline: `uploading` with receiving
//! `progress` events while bytes arrive, then hashed, stored and queued exactly once.
//!
//! A request that breaks off keeps every byte it had made durable: the upload stays
//! `uploading`, and the client goes on from `HEAD`'s offset. One request at a time adds
//! bytes to an upload ([`Holds`](super::holds::Holds)).
//!
//! Partial uploads (tus concatenation, `concat.rs`) take bytes the same way, but are
//! never seen, announced or processed: a final upload made of them is.

mod append;
mod concat;
pub mod digests;

use std::time::Duration;

use sha2::{Digest, Sha256};
use shared::{AccountId, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use tokio::io::AsyncReadExt;

pub use super::checksum::{Algorithm, Checksum, Expected};
pub use append::{append, Append};
pub use concat::{create_final, Final};

use super::{UploadError, Uploads};
use crate::{
    domain::{clock, lifecycle, Change},
    store::{BlobKey, Partial, Resumable},
};

/// Resumable uploads (partials included) one account may have unfinished at once: each
/// holds its bytes on disk (they count against the quota) until it finishes or expires.
const MAX_UNFINISHED: u64 = 100;

/// A new resumable upload.
pub struct Creation {
    pub owner: AccountId,
    /// `None`: deferred, told by a later request.
    pub length: Option<u64>,
    /// `Upload-Metadata` as sent.
    pub metadata: String,
    pub filename: String,
    pub filetype: Option<String>,
    /// The client's own name for it (`client_ref` in the metadata).
    pub client_ref: Option<String>,
    /// How long it may stay unfinished.
    pub expiry: Duration,
    /// A partial upload, for a final upload to be made of (`Upload-Concat: partial`).
    pub partial: bool,
}

/// A resumable upload as a client asks after it.
#[derive(Debug, Clone)]
pub struct Status {
    /// A partial upload's is made up for it: it has no upload of its own.
    pub upload: Upload,
    pub resumable: Resumable,
    pub partial: bool,
}

impl Status {
    /// The bytes durably stored: where the next request goes on.
    pub fn offset(&self) -> u64 {
        self.upload.size
    }

    /// Every byte promised is stored.
    fn full(&self) -> bool {
        self.resumable.length == Some(self.offset())
    }
}

/// Creates a resumable upload: checked against the size limit, the accepted types and
/// the quota from what it promises, then announced like any new upload. A partial one
/// is only kept: its final upload is the one checked for its type and announced.
pub async fn create(uploads: &Uploads, creation: Creation) -> Result<Status, UploadError> {
    within_size(uploads, creation.length)?;
    if !creation.partial {
        within_types(uploads, &creation)?;
    }
    let unfinished = uploads.resumable.unfinished_of(&creation.owner).await?;
    if unfinished >= MAX_UNFINISHED {
        return Err(UploadError::rejected(
            ErrorCode::TooManyUploads,
            format!("{unfinished} resumable uploads are unfinished; finish or delete one first"),
        ));
    }
    if uploads.quotas.limits_bytes() {
        let stored = uploads.repo.stored_bytes(&creation.owner).await?;
        // A check only: the bytes are counted as they arrive.
        uploads.quotas.admit(&creation.owner, stored, creation.length).await?.release().await;
    }
    let resumable = Resumable {
        length: creation.length,
        metadata: creation.metadata.clone(),
        expires_at: clock::after(creation.expiry),
        concat: None,
    };
    let mut status = match creation.partial {
        true => {
            let id = new_id();
            let partial = Partial {
                owner: creation.owner.clone(),
                resumable,
                stored: 0,
                created_at: clock::now(),
            };
            uploads.resumable.create_partial(&id, &partial).await?;
            partial_status(id, partial)
        }
        false => start(uploads, &creation, resumable).await?,
    };
    if status.resumable.length == Some(0) {
        // An empty file has all its bytes already.
        uploads.blobs.append(&status.upload.id, 0).await?.sync().await?;
        status = finish_if_full(uploads, &creation.owner, status).await?;
    }
    Ok(status)
}

/// Refuses a length past `UPLINK_MAX_UPLOAD_BYTES`.
fn within_size(uploads: &Uploads, length: Option<u64>) -> Result<(), UploadError> {
    let max = uploads.max_upload_bytes;
    match length.is_some_and(|length| length > max) {
        true => Err(UploadError::rejected(
            ErrorCode::PayloadTooLarge,
            format!("uploads are limited to {max} bytes"),
        )),
        false => Ok(()),
    }
}

/// Refuses a file type outside `UPLINK_ALLOWED_TYPES`.
fn within_types(uploads: &Uploads, creation: &Creation) -> Result<(), UploadError> {
    let limits = &uploads.limits;
    match limits.type_refusal(&creation.filename, creation.filetype.as_deref()) {
        Some(reason) => Err(UploadError::Rejected(ErrorCode::UnsupportedType, reason)),
        None => Ok(()),
    }
}

/// Makes and announces the upload, with what its resumability adds.
async fn start(
    uploads: &Uploads,
    creation: &Creation,
    resumable: Resumable,
) -> Result<Status, UploadError> {
    let client_ref = creation.client_ref.clone();
    let upload =
        lifecycle::new_upload(new_id(), creation.filename.clone(), client_ref, &clock::now());
    let start = Change {
        bytes_received: Some(0),
        bytes_total: creation.length,
        introduce: true,
        ..Change::default()
    };
    let upload = uploads.recorder.create(&creation.owner, upload, start).await?;
    uploads.resumable.create_resumable(&upload.id, &resumable).await?;
    Ok(Status { upload, resumable, partial: false })
}

fn new_id() -> UploadId {
    UploadId::parse(&uuid::Uuid::now_v7().to_string()).expect("uuids are upload ids")
}

/// A partial upload as the protocol sees it: an upload that is never anything but
/// `uploading`, named by its metadata.
fn partial_status(id: UploadId, partial: Partial) -> Status {
    let mut upload = lifecycle::new_upload(id, String::new(), None, &partial.created_at);
    upload.size = partial.stored;
    Status { upload, resumable: partial.resumable, partial: true }
}

/// The resumable upload `id` of `owner`, or its partial upload; another account's, an
/// upload that is not resumable, and one expired unfinished are all not found.
pub async fn find(
    uploads: &Uploads,
    owner: &AccountId,
    id: &UploadId,
) -> Result<Status, UploadError> {
    let Some(upload) = uploads.repo.get_owned(owner, id).await? else {
        let partial = uploads.resumable.partial(id).await?;
        let partial = partial.filter(|partial| {
            &partial.owner == owner && partial.resumable.expires_at > clock::now()
        });
        return partial
            .map(|partial| partial_status(id.clone(), partial))
            .ok_or(UploadError::NotFound);
    };
    let resumable = uploads.resumable.resumable(id).await?.ok_or(UploadError::NotFound)?;
    let expired = upload.status == UploadStatus::Uploading && resumable.expires_at <= clock::now();
    // Terminated uploads, and ones that failed before all their bytes were stored, are
    // gone as far as the protocol goes; one whose processing failed is complete.
    let ended = upload.status == UploadStatus::Cancelled
        || (upload.status == UploadStatus::Failed && upload.sha256.is_none());
    if expired || ended {
        return Err(UploadError::NotFound);
    }
    Ok(Status { upload, resumable, partial: false })
}

/// Where upload `id` stands once no request is adding bytes to it: one still holding it
/// (its client gone, the server not yet aware) is asked to stop and save what it has,
/// so the offset answered is the one a client can go on from.
pub async fn settled(
    uploads: &Uploads,
    owner: &AccountId,
    id: &UploadId,
) -> Result<Status, UploadError> {
    // Only an upload of the caller's may stop a request.
    find(uploads, owner, id).await?;
    let _hold = uploads.holds.take(id).await;
    let status = find(uploads, owner, id).await?;
    finish_if_full(uploads, owner, status).await
}

/// An upload whose bytes are all stored but that was not yet queued (the server
/// stopped between the two) is completed now; any other is returned as it is. A full
/// partial upload waits for its final upload.
pub async fn finish_if_full(
    uploads: &Uploads,
    owner: &AccountId,
    mut status: Status,
) -> Result<Status, UploadError> {
    if status.upload.status == UploadStatus::Uploading && status.full() && !status.partial {
        match complete(uploads, owner, &status).await {
            Ok(upload) => status.upload = upload,
            // Answered as it stands: the next request, or the next start, tries again.
            Err(error) => {
                tracing::error!(upload = %status.upload.id, %error, "could not finish a complete upload");
            }
        }
    }
    Ok(status)
}

/// Removes the resumable uploads and partials left unfinished past their expiry, bytes
/// and all; how many.
pub async fn remove_expired(uploads: &Uploads) -> Result<usize, UploadError> {
    let expired = uploads.resumable.expired(&clock::now()).await?;
    let mut removed = 0;
    for id in &expired {
        // Under the hold, and only if still unfinished and expired: a request that
        // brought bytes since the list was read has moved the expiry on.
        let _hold = uploads.holds.take(id).await;
        if let Some(partial) = uploads.resumable.partial(id).await? {
            if partial.resumable.expires_at <= clock::now() && forget_partial(uploads, id).await? {
                removed += 1;
            }
            continue;
        }
        let Some(owner) = uploads.repo.owner_of(id).await? else { continue };
        let upload = uploads.repo.get(id).await?;
        let resumable = uploads.resumable.resumable(id).await?;
        let still = match (upload, resumable) {
            (Some(upload), Some(resumable)) => {
                upload.status == UploadStatus::Uploading && resumable.expires_at <= clock::now()
            }
            _ => false,
        };
        if !still {
            continue;
        }
        match uploads.remove(&owner, id).await {
            Ok(()) => removed += 1,
            Err(UploadError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(removed)
}

/// Ends a resumable upload at its client's request (tus termination): `cancelled`, and
/// the bytes it had go. One that already finished arriving is cancelled like any other;
/// a partial upload is forgotten.
pub async fn terminate(
    uploads: &Uploads,
    owner: &AccountId,
    id: &UploadId,
) -> Result<(), UploadError> {
    find(uploads, owner, id).await?;
    // A request still adding bytes stops first.
    let hold = uploads.holds.take(id).await;
    let status = find(uploads, owner, id).await?;
    match status.partial {
        true => {
            forget_partial(uploads, id).await?;
        }
        false => {
            uploads.cancel(owner, id).await?;
            uploads.blobs.delete(&BlobKey::Partial(id.clone())).await?;
        }
    }
    drop(hold);
    Ok(())
}

/// Removes partial upload `id` and its bytes: `false` if it was already gone.
async fn forget_partial(uploads: &Uploads, id: &UploadId) -> Result<bool, UploadError> {
    uploads.digests.forget(id);
    let removed = uploads.resumable.remove_partial(id).await?;
    uploads.blobs.delete(&BlobKey::Partial(id.clone())).await?;
    Ok(removed)
}

/// Records the new durable offset, which announces it; a partial upload's is only kept.
async fn announce(uploads: &Uploads, status: &Status, offset: u64) -> Result<Upload, UploadError> {
    if status.partial {
        uploads.resumable.set_partial_stored(&status.upload.id, offset).await?;
        return Ok(Upload { size: offset, ..status.upload.clone() });
    }
    let length = status.resumable.length;
    let change = Change {
        size: Some(offset),
        bytes_received: Some(offset),
        bytes_total: length,
        percent: length.map(|length| Stage::Receiving.percent(offset, length)),
        ..Change::default()
    };
    Ok(uploads.recorder.record(&status.upload.id, change).await?)
}

/// All the bytes are here: hashed, made the upload's original, stored and queued.
async fn complete(
    uploads: &Uploads,
    owner: &AccountId,
    status: &Status,
) -> Result<Upload, UploadError> {
    let id = &status.upload.id;
    let Some(length) = status.resumable.length else {
        return Err(std::io::Error::other("an upload of unknown length cannot complete").into());
    };
    // Sealed first, then read as the original: an object store cannot read a multipart
    // upload's parts before they are one object. Sealed already if the server stopped
    // between the seal and the record.
    match uploads.blobs.seal(id, length).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    let (mut reader, size) = uploads.blobs.open(&BlobKey::Original(id.clone())).await?;
    if size != length {
        let error = format!("{size} bytes stored for an upload of {length}");
        return Err(std::io::Error::other(error).into());
    }
    // Hashed as the bytes arrived, or else read again now.
    let hasher = match uploads.digests.take(id, size) {
        Some(hasher) => hasher,
        None => {
            let mut hasher = Sha256::new();
            let mut buffer = vec![0; 256 * 1024];
            loop {
                let n = reader.read(&mut buffer).await?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            hasher
        }
    };
    drop(reader);
    let stored = Change {
        status: Some(UploadStatus::Queued),
        size: Some(size),
        sha256: Some(hex::encode(hasher.finalize())),
        percent: Some(Stage::Receiving.percent(1, 1)),
        bytes_received: Some(size),
        bytes_total: Some(size),
        ..Change::default()
    };
    let upload = uploads.recorder.record(id, stored).await?;
    uploads.jobs.enqueue(owner, upload.id.clone(), upload.attempt).await;
    Ok(upload)
}
