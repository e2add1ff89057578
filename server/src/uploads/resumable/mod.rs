//! Resumable uploads (tus): an upload whose bytes come in several requests, each
//! appending at the offset the server last made durable. The same upload as a multipart
//! one, through the same recorder, limits and pipeline: `uploading` with receiving
//! `progress` events while bytes arrive, then hashed, stored and queued exactly once.
//!
//! A request that breaks off keeps every byte it had made durable: the upload stays
//! `uploading`, and the client goes on from `HEAD`'s offset. One request at a time adds
//! bytes to an upload ([`Holds`]).

use std::time::Duration;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use shared::{AccountId, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use tokio::io::AsyncReadExt;

pub use super::checksum::{Algorithm, Checksum};
use super::{
    checksum::Hashing,
    ingest::{BodyError, BodyStream},
    UploadError, Uploads,
};
use crate::{
    domain::{clock, lifecycle, Change},
    store::{BlobKey, Resumable},
};

/// Resumable uploads one account may have unfinished at once: each holds its bytes on
/// disk (they count against the quota) until it finishes or expires.
const MAX_UNFINISHED: u64 = 100;

/// How many bytes a request appends between syncs: each sync makes them durable and
/// announces the new offset.
const SYNC_EVERY: u64 = 8 << 20;

/// A new resumable upload.
pub struct Creation {
    pub owner: AccountId,
    /// `None`: deferred, told by a later request.
    pub length: Option<u64>,
    /// `Upload-Metadata` as sent.
    pub metadata: String,
    pub filename: String,
    pub filetype: Option<String>,
    /// How long it may stay unfinished.
    pub expiry: Duration,
}

/// Bytes for a resumable upload, at `offset`.
pub struct Append {
    pub owner: AccountId,
    pub id: UploadId,
    pub offset: u64,
    /// Sets a deferred length with these bytes.
    pub length: Option<u64>,
    pub body: BodyStream,
    /// The request's `Content-Length`, when it has one: refused up front if it would
    /// go past the upload's length.
    pub content_length: Option<u64>,
    pub expiry: Duration,
    /// `Upload-Checksum`: the bytes count only if they match it, all of them.
    pub checksum: Option<Checksum>,
}

/// A resumable upload as a client asks after it.
#[derive(Debug, Clone)]
pub struct Status {
    pub upload: Upload,
    pub resumable: Resumable,
}

impl Status {
    /// The bytes durably stored: where the next request goes on.
    pub fn offset(&self) -> u64 {
        self.upload.size
    }
}

/// Creates a resumable upload: checked against the size limit, the accepted types and
/// the quota from what it promises, then announced like any new upload.
pub async fn create(uploads: &Uploads, creation: Creation) -> Result<Status, UploadError> {
    let max = uploads.max_upload_bytes;
    if creation.length.is_some_and(|length| length > max) {
        return Err(UploadError::rejected(
            ErrorCode::PayloadTooLarge,
            format!("uploads are limited to {max} bytes"),
        ));
    }
    let limits = &uploads.limits;
    if let Some(reason) = limits.type_refusal(&creation.filename, creation.filetype.as_deref()) {
        return Err(UploadError::Rejected(ErrorCode::UnsupportedType, reason));
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
        drop(uploads.quotas.admit(&creation.owner, stored, creation.length)?);
    }
    let id = UploadId::parse(&uuid::Uuid::now_v7().to_string()).expect("uuids are upload ids");
    let now = clock::now();
    let upload = lifecycle::new_upload(id, creation.filename, None, &now);
    let start = Change {
        bytes_received: Some(0),
        bytes_total: creation.length,
        introduce: true,
        ..Change::default()
    };
    let upload = uploads.recorder.create(&creation.owner, upload, start).await?;
    let resumable = Resumable {
        length: creation.length,
        metadata: creation.metadata,
        expires_at: clock::after(creation.expiry),
    };
    uploads.resumable.create_resumable(&upload.id, &resumable).await?;
    let mut status = Status { upload, resumable };
    if status.resumable.length == Some(0) {
        // An empty file has all its bytes already.
        uploads.blobs.append(&status.upload.id, 0).await?.sync().await?;
        status = finish_if_full(uploads, &creation.owner, status).await?;
    }
    Ok(status)
}

/// The resumable upload `id` of `owner`; another account's, an upload that is not
/// resumable, and one expired unfinished are all not found.
pub async fn find(
    uploads: &Uploads,
    owner: &AccountId,
    id: &UploadId,
) -> Result<Status, UploadError> {
    let upload = uploads.repo.get_owned(owner, id).await?.ok_or(UploadError::NotFound)?;
    let resumable = uploads.resumable.resumable(id).await?.ok_or(UploadError::NotFound)?;
    let expired = upload.status == UploadStatus::Uploading && resumable.expires_at <= clock::now();
    // Terminated uploads, and ones that failed before all their bytes were stored, are
    // gone as far as the protocol goes; one whose processing failed is complete.
    let ended = upload.status == UploadStatus::Cancelled
        || (upload.status == UploadStatus::Failed && upload.sha256.is_none());
    if expired || ended {
        return Err(UploadError::NotFound);
    }
    Ok(Status { upload, resumable })
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
/// stopped between the two) is completed now; any other is returned as it is.
pub async fn finish_if_full(
    uploads: &Uploads,
    owner: &AccountId,
    mut status: Status,
) -> Result<Status, UploadError> {
    let full = status.resumable.length == Some(status.offset());
    if status.upload.status == UploadStatus::Uploading && full {
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

/// Appends a request's bytes at its offset, making them durable every [`SYNC_EVERY`]
/// and at the end, each time announcing the new offset. A body that breaks off keeps
/// what was made durable. The last byte of the promised length stores and queues the
/// upload. Returns the upload's state after.
pub async fn append(uploads: &Uploads, append: Append) -> Result<Status, UploadError> {
    // Only an upload of the caller's may stop a request.
    find(uploads, &append.owner, &append.id).await?;
    let hold = uploads.holds.take(&append.id).await;
    let status = find(uploads, &append.owner, &append.id).await?;
    let mut status = finish_if_full(uploads, &append.owner, status).await?;
    let nothing_more = append.content_length == Some(0) && append.offset == status.offset();
    if status.upload.status != UploadStatus::Uploading && nothing_more {
        // The client asks to go on at the end of an upload that is complete: it is.
        return Ok(status);
    }
    if status.upload.status != UploadStatus::Uploading {
        let now = status.upload.status.as_str();
        let message = format!("the upload takes no more bytes: it is {now}");
        return Err(UploadError::rejected(ErrorCode::InvalidState, message));
    }
    if append.offset != status.offset() {
        return Err(UploadError::rejected(
            ErrorCode::InvalidState,
            format!("the upload is at offset {}, not {}", status.offset(), append.offset),
        ));
    }
    let promised = status.resumable.length.or(append.length);
    let limit = promised.unwrap_or(uploads.max_upload_bytes);
    if append.content_length.is_some_and(|n| append.offset.saturating_add(n) > limit) {
        return Err(UploadError::rejected(
            ErrorCode::PayloadTooLarge,
            format!("more bytes than the upload's length of {limit}"),
        ));
    }
    match (status.resumable.length, append.length) {
        (None, Some(length)) => {
            if length > uploads.max_upload_bytes {
                let max = uploads.max_upload_bytes;
                let message = format!("uploads are limited to {max} bytes");
                return Err(UploadError::rejected(ErrorCode::PayloadTooLarge, message));
            }
            if length < status.offset() {
                let message = format!("{} bytes are already stored", status.offset());
                return Err(UploadError::rejected(ErrorCode::InvalidRequest, message));
            }
            uploads.resumable.set_length(&append.id, length).await?;
            status.resumable.length = Some(length);
        }
        (Some(known), Some(length)) if known != length => {
            let message = format!("the upload's length is {known}, not {length}");
            return Err(UploadError::rejected(ErrorCode::InvalidRequest, message));
        }
        _ => {}
    }
    let limit = status.resumable.length.unwrap_or(uploads.max_upload_bytes);
    let stored = match uploads.quotas.limits_bytes() {
        true => uploads.repo.stored_bytes(&append.owner).await?,
        false => 0,
    };
    let mut ticket = uploads.quotas.admit(&append.owner, stored, None)?;
    let mut appender = uploads.blobs.append(&append.id, append.offset).await?;
    let (mut written, mut durable) = (append.offset, append.offset);
    let mut body = append.body;
    let mut hashing = append.checksum.as_ref().map(|c| Hashing::new(c.algorithm));
    let ended: Result<(), UploadError> = loop {
        let chunk = tokio::select! {
            chunk = body.next() => chunk,
            // Another request for this upload: its client is here again, and this one
            // is gone. Keep what arrived and let go.
            () = hold.stop.cancelled() => break Ok(()),
        };
        let chunk = match chunk {
            None => break Ok(()),
            Some(Ok(chunk)) => chunk,
            Some(Err(BodyError::TooSlow(why))) => {
                break Err(UploadError::rejected(ErrorCode::UploadAborted, why))
            }
            Some(Err(BodyError::Broken)) => {
                break Err(UploadError::rejected(ErrorCode::UploadAborted, "the request broke off"))
            }
        };
        if written + chunk.len() as u64 > limit {
            break Err(UploadError::rejected(
                ErrorCode::PayloadTooLarge,
                format!("more bytes than the upload's length of {limit}"),
            ));
        }
        if let Err(e) = ticket.add(chunk.len() as u64) {
            break Err(e);
        }
        if let Err(e) = appender.write(&chunk).await {
            break Err(e.into());
        }
        if let Some(hashing) = &mut hashing {
            hashing.update(&chunk);
        }
        written += chunk.len() as u64;
        // With a checksum nothing counts before the whole request is checked.
        if hashing.is_none() && written - durable >= SYNC_EVERY {
            durable = appender.sync().await?;
            status.upload = announce(uploads, &status, durable).await?;
            // A request still bringing bytes keeps its upload from expiring.
            uploads.resumable.set_expiry(&append.id, &clock::after(append.expiry)).await?;
        }
    };
    let ended = match (&append.checksum, hashing) {
        // Discarded unless whole and matching: the next request goes on from where this
        // one began, and the appender drops what this one wrote.
        (Some(checksum), Some(hashing)) => {
            ended?;
            if hashing.finish() != checksum.digest {
                let algorithm = checksum.algorithm.name();
                return Err(UploadError::rejected(
                    ErrorCode::ChecksumMismatch,
                    format!(
                        "the bytes do not match their {algorithm} checksum; they were discarded"
                    ),
                ));
            }
            Ok(())
        }
        _ => ended,
    };
    // Whatever ended the request, what arrived is kept.
    durable = appender.sync().await?;
    drop(appender);
    ticket.keep();
    if durable != status.offset() {
        status.upload = announce(uploads, &status, durable).await?;
    }
    let expires_at = clock::after(append.expiry);
    uploads.resumable.set_expiry(&append.id, &expires_at).await?;
    status.resumable.expires_at = expires_at;
    // Still holding it: one request completes an upload, once; even a request refused
    // for what came after its last needed byte.
    let finished = finish_if_full(uploads, &append.owner, status).await;
    drop(hold);
    ended?;
    finished
}

/// Removes the resumable uploads left unfinished past their expiry, bytes and all;
/// how many.
pub async fn remove_expired(uploads: &Uploads) -> Result<usize, UploadError> {
    let expired = uploads.resumable.expired(&clock::now()).await?;
    let mut removed = 0;
    for id in &expired {
        let Some(owner) = uploads.repo.owner_of(id).await? else { continue };
        // Under the hold, and only if still unfinished and expired: a request that
        // brought bytes since the list was read has moved the expiry on.
        let _hold = uploads.holds.take(id).await;
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
/// the bytes it had go. One that already finished arriving is cancelled like any other.
pub async fn terminate(
    uploads: &Uploads,
    owner: &AccountId,
    id: &UploadId,
) -> Result<(), UploadError> {
    find(uploads, owner, id).await?;
    // A request still adding bytes stops first.
    let hold = uploads.holds.take(id).await;
    uploads.cancel(owner, id).await?;
    uploads.blobs.delete(&BlobKey::Partial(id.clone())).await?;
    drop(hold);
    Ok(())
}

/// Records the new durable offset, which announces it.
async fn announce(uploads: &Uploads, status: &Status, offset: u64) -> Result<Upload, UploadError> {
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
    // Sealed already if the server stopped between the seal and the record.
    let (sealed, (mut reader, size)) = match uploads.blobs.open(&BlobKey::Partial(id.clone())).await
    {
        Ok(partial) => (false, partial),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (true, uploads.blobs.open(&BlobKey::Original(id.clone())).await?)
        }
        Err(e) => return Err(e.into()),
    };
    if Some(size) != status.resumable.length {
        let error = format!("{size} bytes stored for an upload of {:?}", status.resumable.length);
        return Err(std::io::Error::other(error).into());
    }
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    if !sealed {
        uploads.blobs.seal(id).await?;
    }
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
