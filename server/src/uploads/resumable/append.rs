//! One request's bytes for a resumable upload (a tus PATCH, or the body of a creation):
//! checked against the offset, the length and the quota, written at the offset, made
//! durable and announced every [`SYNC_EVERY`] and at the end. A body that breaks off
//! keeps what was made durable; one with a checksum counts only whole and matching.

use std::time::Duration;

use futures_util::StreamExt;
use shared::{AccountId, ErrorCode, UploadId, UploadStatus};

use super::{announce, find, finish_if_full, Status};
use crate::{
    domain::clock,
    uploads::{
        checksum::Expected,
        holds::Hold,
        ingest::{BodyError, BodyStream},
        quota::Ticket,
        UploadError, Uploads,
    },
};

/// How many bytes a request appends between syncs: each sync makes them durable and
/// announces the new offset.
const SYNC_EVERY: u64 = 8 << 20;

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
    /// `Upload-Checksum`, as a header or a trailer: the bytes count only if they match
    /// it, all of them.
    pub checksum: Option<Expected>,
}

/// Appends a request's bytes at its offset. The last byte of the promised length
/// stores and queues the upload. Returns the upload's state after.
pub async fn append(uploads: &Uploads, append: Append) -> Result<Status, UploadError> {
    // Only an upload of the caller's may stop a request.
    find(uploads, &append.owner, &append.id).await?;
    let hold = uploads.holds.take(&append.id).await;
    let status = find(uploads, &append.owner, &append.id).await?;
    if status.resumable.concat.is_some() {
        return Err(UploadError::rejected(
            ErrorCode::FinalUpload,
            "a final upload takes no bytes of its own: it is made of its partial uploads",
        ));
    }
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
    let mut ticket = uploads.quotas.admit(&append.owner, stored, None).await?;
    // The place is given back before the answer, kept or not: the client's next request
    // may come at once.
    let received = receive(uploads, append, status, hold, &mut ticket, limit).await;
    match received.is_ok() {
        true => ticket.keep().await,
        false => ticket.release().await,
    }
    received
}

/// The request's bytes, appended under `hold` and counted by `ticket`, up to `limit`.
async fn receive(
    uploads: &Uploads,
    append: Append,
    mut status: Status,
    hold: Hold,
    ticket: &mut Ticket,
    limit: u64,
) -> Result<Status, UploadError> {
    let mut appender = uploads.blobs.append(&append.id, append.offset).await?;
    let (mut written, mut durable) = (append.offset, append.offset);
    let mut body = append.body;
    let mut hashing = append.checksum.as_ref().map(Expected::hashers);
    // The upload's own SHA-256, going on from the bytes before these, when it is kept.
    let mut running = uploads.digests.at(&append.id, append.offset);
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
        if let Err(e) = ticket.add(chunk.len() as u64).await {
            break Err(e);
        }
        if let Err(e) = appender.write(&chunk).await {
            break Err(e.into());
        }
        for hasher in hashing.iter_mut().flatten() {
            hasher.update(&chunk);
        }
        if let Some(running) = &mut running {
            sha2::Digest::update(running, &chunk);
        }
        written += chunk.len() as u64;
        // With a checksum nothing counts before the whole request is checked.
        if hashing.is_none() && written - durable >= SYNC_EVERY {
            let before = durable;
            durable = appender.sync().await?;
            status.upload = announce(uploads, &status, durable).await?;
            // Recorded as the upload's size, they count as kept from now on.
            ticket.now_stored(durable - before).await?;
            // A request still bringing bytes keeps its upload from expiring.
            uploads.resumable.set_expiry(&append.id, &clock::after(append.expiry)).await?;
        }
    };
    let ended = match (append.checksum, hashing) {
        // Discarded unless whole and matching: the next request goes on from where this
        // one began, and the appender drops what this one wrote.
        (Some(expected), Some(hashers)) => {
            ended?;
            let checksum = expected
                .resolve()
                .map_err(|why| UploadError::rejected(ErrorCode::InvalidRequest, why))?;
            let hasher = hashers.into_iter().find(|h| h.algorithm() == checksum.algorithm);
            if hasher.map(|h| h.finish()) != Some(checksum.digest) {
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
        (_, _) => ended,
    };
    // Whatever ended the request, what arrived is kept.
    durable = appender.sync().await?;
    drop(appender);
    match running {
        Some(running) if durable == written => uploads.digests.keep(&append.id, durable, running),
        _ => uploads.digests.forget(&append.id),
    }
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
