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

use axum::{body::Body, BoxError};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use shared::{ErrorBody, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use tokio::time::Instant;

use super::{
    display_name,
    form::{FilePart, FormBody, FormTooLarge},
    lifecycle::{self, Change},
    quota::Ticket,
};
use crate::{
    clock,
    error::{find_cause, ApiError},
    http::pace::TooSlow,
    state::AppState,
    store::{BlobKey, BlobWriter, StoreError},
};

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
    pub owner: String,
    pub content_length: Option<u64>,
    pub boundary: String,
    pub client_ref: Option<String>,
    pub body: Body,
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
pub async fn ingest(state: &AppState, request: IngestRequest) -> Result<Upload, ApiError> {
    let max = state.config.max_upload_bytes;
    if request.content_length.is_some_and(|len| len > max.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(too_large(max));
    }
    // One query per upload, and none when there is no byte quota to hold it to.
    let stored = if state.quotas.limits_bytes() {
        state.repo.stored_bytes(&request.owner).await?
    } else {
        0
    };
    let announced = request.content_length.map(|len| len.saturating_sub(TYPICAL_FORM_OVERHEAD));
    let mut ticket = state.quotas.admit(&request.owner, stored, announced)?;
    let received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&received);
    let body = request.body.into_data_stream().map_err(BoxError::from).inspect_ok(move |chunk| {
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
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    "send exactly one part named `file`",
                ));
            }
            let filename = display_name(field.file_name());
            let declared = field.content_type().map(|m| m.essence_str().to_owned());
            if let Some(reason) = state.limits.type_refusal(&filename, declared.as_deref()) {
                return Err(ApiError::UnsupportedType(reason));
            }
            let upload = new_upload(filename, request.client_ref.clone());
            let start = Change {
                bytes_received: Some(received.load(Ordering::Relaxed)),
                bytes_total: request.content_length,
                introduce: true,
                ..Change::default()
            };
            let upload = state.recorder.create(&request.owner, upload, start).await?;
            // From here on the upload exists, and a failure must end it.
            let receiving = current.insert(Receiving {
                id: upload.id.clone(),
                writer: None,
                size: 0,
                sha256: String::new(),
            });
            receiving.writer = Some(state.blobs.create(&BlobKey::Original(upload.id)).await?);
            file.enter();
            let total = request.content_length;
            receive_file(state, field, receiving, &mut ticket, &received, total).await?;
            file.leave();
        }
        Ok(())
    }
    .await;

    let Some(mut receiving) = current else {
        // How much of the body came, against what it announced: tells a client that
        // broke off from a body that was short or malformed.
        tracing::info!(
            received = received.load(Ordering::Relaxed),
            content_length = request.content_length,
            "upload refused before its file part"
        );
        return Err(read.err().unwrap_or_else(|| {
            ApiError::bad_request(ErrorCode::MissingFile, "the form has no part named `file`")
        }));
    };
    let total = received.load(Ordering::Relaxed);
    let stored = match read {
        Ok(()) => {
            store(state, &mut receiving, request.content_length.unwrap_or(total), total).await
        }
        Err(error) => Err(error),
    };
    match stored {
        Ok(upload) => {
            ticket.keep();
            state.jobs.enqueue(&request.owner, upload.id.clone());
            Ok(upload)
        }
        Err(error) => {
            fail(state, receiving, &error).await;
            Err(error)
        }
    }
}

/// Makes the received bytes durable, then records the upload as stored and queued.
async fn store(
    state: &AppState,
    receiving: &mut Receiving,
    bytes_total: u64,
    bytes_received: u64,
) -> Result<Upload, ApiError> {
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
    state.recorder.record(&receiving.id, stored).await.map_err(cancelled)
}

/// Ends an upload that will not be stored: its bytes go (a partial blob, or one that was
/// committed before recording it failed) and it is marked failed with why, unless it
/// already ended (cancelled or deleted while arriving).
async fn fail(state: &AppState, mut receiving: Receiving, error: &ApiError) {
    match receiving.writer.take() {
        Some(writer) => writer.abort().await,
        None => {
            if let Err(e) = state.blobs.delete(&BlobKey::Original(receiving.id.clone())).await {
                tracing::error!(upload = %receiving.id, error = %e, "could not remove an unstored upload's bytes");
            }
        }
    }
    let body = failure_body(error);
    tracing::info!(upload = %receiving.id, code = body.code.as_str(), %error, "upload not received");
    // The size it reached stays on the record; with no bytes stored, it counts for nothing.
    let failed =
        Change { size: Some(receiving.size), ..Change::failed(UploadStatus::Failed, body) };
    match state.recorder.record(&receiving.id, failed).await {
        Ok(_) | Err(StoreError::NotFound | StoreError::Finished) => {}
        Err(e) => {
            // The store itself is failing; the next start marks it `interrupted`.
            tracing::error!(upload = %receiving.id, error = %e, "could not mark an upload failed")
        }
    }
}

async fn receive_file(
    state: &AppState,
    mut field: multer::Field<'static>,
    receiving: &mut Receiving,
    ticket: &mut Ticket,
    received: &AtomicU64,
    total: Option<u64>,
) -> Result<(), ApiError> {
    let max = state.config.max_upload_bytes;
    let mut hasher = Sha256::new();
    let mut last_progress = Instant::now();
    let writer = receiving.writer.as_mut().expect("a receiving upload has a writer");
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        receiving.size += chunk.len() as u64;
        if receiving.size > max {
            return Err(too_large(max));
        }
        ticket.add(chunk.len() as u64)?;
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
            state.recorder.record(&receiving.id, progress).await.map_err(cancelled)?;
        }
    }
    receiving.sha256 = hex::encode(hasher.finalize());
    Ok(())
}

/// Reads and discards a non-file form field; what it may take is bounded with the rest
/// of the form outside the file part.
async fn skip_field(mut field: multer::Field<'static>) -> Result<(), ApiError> {
    while field.chunk().await.map_err(multipart_error)?.is_some() {}
    Ok(())
}

fn new_upload(filename: String, client_ref: Option<String>) -> Upload {
    let id = UploadId::parse(&uuid::Uuid::now_v7().to_string()).expect("uuids are upload ids");
    lifecycle::new_upload(id, filename, client_ref, &clock::now())
}

fn too_large(max: u64) -> ApiError {
    ApiError::PayloadTooLarge(format!("uploads are limited to {max} bytes"))
}

/// A change refused because the upload already finished: it was cancelled (or deleted)
/// while its bytes were arriving, so the rest are not wanted.
fn cancelled(error: StoreError) -> ApiError {
    match error {
        StoreError::Finished => ApiError::InvalidState("the upload was cancelled".into()),
        other => other.into(),
    }
}

fn abandoned() -> ApiError {
    ApiError::bad_request(ErrorCode::UploadAborted, "the client stopped sending the upload")
}

fn multipart_error(error: multer::Error) -> ApiError {
    match error {
        multer::Error::StreamReadFailed(cause) => {
            let cause: &(dyn std::error::Error + 'static) = &*cause;
            if let Some(slow) = find_cause::<TooSlow>(cause) {
                ApiError::bad_request(ErrorCode::UploadAborted, slow.to_string())
            } else if let Some(large) = find_cause::<FormTooLarge>(cause) {
                ApiError::bad_request(ErrorCode::InvalidRequest, large.to_string())
            } else {
                // The body itself broke off: the client went away or the connection dropped.
                abandoned()
            }
        }
        multer::Error::StreamSizeExceeded { limit } => {
            ApiError::PayloadTooLarge(format!("the whole form is limited to {limit} bytes"))
        }
        // The body ended cleanly but the form inside it did not.
        multer::Error::IncompleteStream
        | multer::Error::IncompleteFieldData { .. }
        | multer::Error::IncompleteHeaders => ApiError::bad_request(
            ErrorCode::InvalidMultipart,
            "the multipart body ended before its closing boundary",
        ),
        other => ApiError::bad_request(
            ErrorCode::InvalidMultipart,
            format!("malformed multipart body: {other}"),
        ),
    }
}

/// What the upload's own error event says about a failed receive.
fn failure_body(error: &ApiError) -> ErrorBody {
    match error {
        ApiError::BadRequest(code, message) => ErrorBody::new(*code, message.clone()),
        ApiError::PayloadTooLarge(message) => {
            ErrorBody::new(ErrorCode::PayloadTooLarge, message.clone())
        }
        ApiError::QuotaExceeded(message) => {
            ErrorBody::new(ErrorCode::QuotaExceeded, message.clone())
        }
        ApiError::Io(e) if e.kind() == std::io::ErrorKind::StorageFull => {
            ErrorBody::new(ErrorCode::Internal, "the server has no room left to store the upload")
        }
        _ => ErrorBody::new(ErrorCode::Internal, "the upload could not be stored"),
    }
}
