//! Receiving an upload: the multipart body is streamed into blob storage as it arrives
//! (never held whole in memory), hashed on the way, held to the size limit, and its
//! progress published at a bounded rate, within its account's quota. The body reaches
//! the parser through [`FormBody`], which bounds the form around the file and works
//! around a parser bug; its pace is held by the server (`http::pace`).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use futures_util::{stream::BoxStream, TryStreamExt};
use sha2::{Digest, Sha256};
use shared::{AccountId, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use tokio::time::Instant;

use super::{
    display_name,
    error::find_cause,
    form::{FilePart, FormBody, FormTooLarge},
    quota::Ticket,
    UploadError, Uploads,
};
use crate::{
    domain::{clock, lifecycle, Change, Refused},
    store::{BlobKey, BlobWriter, ChangeError},
};

/// Why a request body broke off, as the server's HTTP layer saw it.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// It arrived slower than the server's minimum pace; the text says by how much.
    #[error("{0}")]
    TooSlow(String),
    /// The client went away or the connection dropped.
    #[error("the client stopped sending the upload")]
    Broken,
}

/// A request body as it arrives.
pub type BodyStream = BoxStream<'static, Result<Bytes, BodyError>>;

/// Room for multipart boundaries and part headers on top of the file itself when the
/// Content-Length is checked against the size limit up front.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// What the quota check up front takes off the Content-Length for the same: enough for
/// any ordinary form, so only an upload within a few KiB of the quota can be refused
/// early that would just have fitted.
const TYPICAL_FORM_OVERHEAD: u64 = 4 * 1024;

/// At most this many receiving-progress events per second per upload.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

pub struct IngestRequest {
    /// The account the upload will belong to.
    pub owner: AccountId,
    pub content_length: Option<u64>,
    pub boundary: String,
    pub client_ref: Option<String>,
    pub body: BodyStream,
}

/// The upload being received, from the moment its row exists: its id, and its blob
/// until committed.
struct Receiving {
    id: UploadId,
    writer: Option<Box<dyn BlobWriter>>,
    size: u64,
    sha256: String,
}

/// Receives one upload. On success it is stored and queued. Once its row exists, any
/// failure (the client's, the form's, or storage's: a full disk fails at the blob's
/// commit) marks it failed with its `error` event and removes its bytes, so no upload is
/// ever left `uploading` by a request that has ended.
pub async fn ingest(uploads: &Uploads, request: IngestRequest) -> Result<Upload, UploadError> {
    let max = uploads.max_upload_bytes;
    if request.content_length.is_some_and(|len| len > max.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(too_large(max));
    }
    // One query per upload, and none when there is no byte quota to hold it to.
    let stored = if uploads.quotas.limits_bytes() {
        uploads.repo.stored_bytes(&request.owner).await?
    } else {
        0
    };
    let announced = request.content_length.map(|len| len.saturating_sub(TYPICAL_FORM_OVERHEAD));
    let mut ticket = uploads.quotas.admit(&request.owner, stored, announced).await?;
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let body = request.body.map_err(axum::BoxError::from).inspect_ok(move |chunk| {
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    });
    let file = FilePart::default();
    let limits = multer::SizeLimit::new().whole_stream(max.saturating_add(MULTIPART_OVERHEAD));
    let mut multipart = multer::Multipart::with_constraints(
        FormBody::new(body, file.clone()),
        request.boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut current: Option<Receiving> = None;
    let read = async {
        while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
            if field.name() != Some("file") {
                skip_field(field).await?;
                continue;
            }
            if current.is_some() {
                return Err(UploadError::rejected(
                    ErrorCode::InvalidRequest,
                    "send exactly one part named `file`",
                ));
            }
            let filename = display_name(field.file_name());
            let declared = field.content_type().map(|m| m.essence_str().to_owned());
            if let Some(reason) = uploads.limits.type_refusal(&filename, declared.as_deref()) {
                return Err(UploadError::Rejected(ErrorCode::UnsupportedType, reason));
            }
            let upload = new_upload(filename, request.client_ref.clone());
            let start = Change {
                bytes_received: Some(received.load(Ordering::Relaxed)),
                bytes_total: request.content_length,
                introduce: true,
                ..Change::default()
            };
            let upload = uploads.recorder.create(&request.owner, upload, start).await?;
            // From here on the upload exists, and a failure must end it.
            let receiving = current.insert(Receiving {
                id: upload.id.clone(),
                writer: None,
                size: 0,
                sha256: String::new(),
            });
            receiving.writer = Some(uploads.blobs.create(&BlobKey::Original(upload.id)).await?);
            file.enter();
            let total = request.content_length;
            receive_file(uploads, field, receiving, &mut ticket, &received, total).await?;
            file.leave();
        }
        Ok(())
    }
    .await;

    let Some(mut receiving) = current else {
        ticket.release().await;
        // How much of the body came, against what it announced: tells a client that
        // broke off from a body that was short or malformed.
        tracing::info!(
            received = received.load(Ordering::Relaxed),
            content_length = request.content_length,
            "upload refused before its file part"
        );
        return Err(read.err().unwrap_or_else(|| {
            UploadError::rejected(ErrorCode::MissingFile, "the form has no part named `file`")
        }));
    };
    let total = received.load(Ordering::Relaxed);
    let stored = match read {
        Ok(()) => {
            store(uploads, &mut receiving, request.content_length.unwrap_or(total), total).await
        }
        Err(error) => Err(error),
    };
    match stored {
        Ok(upload) => {
            ticket.keep().await;
            uploads.jobs.enqueue(&request.owner, upload.id.clone(), upload.attempt).await;
            Ok(upload)
        }
        Err(error) => {
            fail(uploads, receiving, &error).await;
            ticket.release().await;
            Err(error)
        }
    }
}

/// Makes the received bytes durable, then records the upload as stored and queued.
async fn store(
    uploads: &Uploads,
    receiving: &mut Receiving,
    bytes_total: u64,
    bytes_received: u64,
) -> Result<Upload, UploadError> {
    let writer = receiving.writer.take().expect("a received file has its writer");
    writer.commit().await?;
    let stored = Change {
        status: Some(UploadStatus::Queued),
        size: Some(receiving.size),
        sha256: Some(std::mem::take(&mut receiving.sha256)),
        percent: Some(Stage::Receiving.percent(1, 1)),
        bytes_received: Some(bytes_received),
        bytes_total: Some(bytes_total),
        ..Change::default()
    };
    // Refused as finished: cancelled or deleted as its last bytes arrived, so they are
    // not wanted. `fail` then removes them like any other failure's.
    uploads.recorder.record(&receiving.id, stored).await.map_err(cancelled)
}

/// Ends an upload that will not be stored: its bytes go (a partial blob, or one that was
/// committed before recording it failed) and it is marked failed with why, unless it
/// already ended (cancelled or deleted while arriving).
async fn fail(uploads: &Uploads, mut receiving: Receiving, error: &UploadError) {
    match receiving.writer.take() {
        Some(writer) => writer.abort().await,
        None => {
            if let Err(e) = uploads.blobs.delete(&BlobKey::Original(receiving.id.clone())).await {
                tracing::error!(upload = %receiving.id, error = %e, "could not remove an unstored upload's bytes");
            }
        }
    }
    let body = error.body();
    tracing::info!(upload = %receiving.id, code = body.code.as_str(), %error, "upload not received");
    // The size it reached stays on the record; with no bytes stored, it counts for nothing.
    let failed =
        Change { size: Some(receiving.size), ..Change::failed(UploadStatus::Failed, body) };
    match uploads.recorder.record(&receiving.id, failed).await {
        Ok(_) => {}
        Err(e) if e.is_moot() => {}
        Err(e) => {
            // The store itself is failing; the next start marks it `interrupted`.
            tracing::error!(upload = %receiving.id, error = %e, "could not mark an upload failed")
        }
    }
}

async fn receive_file(
    uploads: &Uploads,
    mut field: multer::Field<'static>,
    receiving: &mut Receiving,
    ticket: &mut Ticket,
    received: &AtomicU64,
    total: Option<u64>,
) -> Result<(), UploadError> {
    let max = uploads.max_upload_bytes;
    let mut hasher = Sha256::new();
    let mut last_progress = Instant::now();
    let writer = receiving.writer.as_mut().expect("a receiving upload has a writer");
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        receiving.size += chunk.len() as u64;
        if receiving.size > max {
            return Err(too_large(max));
        }
        ticket.add(chunk.len() as u64).await?;
        hasher.update(&chunk);
        writer.write(&chunk).await?;
        if last_progress.elapsed() >= PROGRESS_INTERVAL {
            last_progress = Instant::now();
            let now = received.load(Ordering::Relaxed);
            let progress = Change {
                size: Some(receiving.size),
                percent: total.map(|total| Stage::Receiving.percent(now, total)),
                bytes_received: Some(now),
                bytes_total: total,
                ..Change::default()
            };
            uploads.recorder.record(&receiving.id, progress).await.map_err(cancelled)?;
        }
    }
    receiving.sha256 = hex::encode(hasher.finalize());
    Ok(())
}

/// Reads and discards a non-file form field; what it may take is bounded with the rest
/// of the form outside the file part.
async fn skip_field(mut field: multer::Field<'static>) -> Result<(), UploadError> {
    while field.chunk().await.map_err(multipart_error)?.is_some() {}
    Ok(())
}

fn new_upload(filename: String, client_ref: Option<String>) -> Upload {
    let id = UploadId::parse(&uuid::Uuid::now_v7().to_string()).expect("uuids are upload ids");
    lifecycle::new_upload(id, filename, client_ref, &clock::now())
}

fn too_large(max: u64) -> UploadError {
    UploadError::rejected(ErrorCode::PayloadTooLarge, format!("uploads are limited to {max} bytes"))
}

/// A change refused because the upload already finished: it was cancelled (or deleted)
/// while its bytes were arriving, so the rest are not wanted.
fn cancelled(error: ChangeError) -> UploadError {
    match UploadError::from(error) {
        UploadError::Refused(Refused::Finished) => {
            UploadError::rejected(ErrorCode::InvalidState, "the upload was cancelled")
        }
        other => other,
    }
}

fn abandoned() -> UploadError {
    UploadError::rejected(ErrorCode::UploadAborted, "the client stopped sending the upload")
}

fn multipart_error(error: multer::Error) -> UploadError {
    match error {
        multer::Error::StreamReadFailed(cause) => {
            let cause: &(dyn std::error::Error + 'static) = &*cause;
            if let Some(BodyError::TooSlow(slow)) = find_cause::<BodyError>(cause) {
                UploadError::rejected(ErrorCode::UploadAborted, slow.clone())
            } else if let Some(large) = find_cause::<FormTooLarge>(cause) {
                UploadError::rejected(ErrorCode::InvalidRequest, large.to_string())
            } else {
                // The body itself broke off: the client went away or the connection dropped.
                abandoned()
            }
        }
        multer::Error::StreamSizeExceeded { limit } => UploadError::rejected(
            ErrorCode::PayloadTooLarge,
            format!("the whole form is limited to {limit} bytes"),
        ),
        // The body ended cleanly but the form inside it did not.
        multer::Error::IncompleteStream
        | multer::Error::IncompleteFieldData { .. }
        | multer::Error::IncompleteHeaders => UploadError::rejected(
            ErrorCode::InvalidMultipart,
            "the multipart body ended before its closing boundary",
        ),
        other => UploadError::rejected(
            ErrorCode::InvalidMultipart,
            format!("malformed multipart body: {other}"),
        ),
    }
}
