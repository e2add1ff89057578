//! Receiving an upload: the multipart body is streamed into blob storage as it arrives
//! (never held whole in memory), hashed on the way, held to the size limit, and its
//! progress published at a bounded rate, within its account's quota.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::body::Body;
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use shared::{ErrorBody, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use tokio::time::{timeout, Instant};

use super::{
    display_name,
    lifecycle::{self, Change},
    quota::Ticket,
};
use crate::{
    clock,
    error::ApiError,
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

/// Non-file parts are small form fields; anything larger is refused.
const MAX_FIELD_BYTES: usize = 64 * 1024;

pub struct IngestRequest {
    /// The account the upload will belong to.
    pub owner: String,
    pub content_length: Option<u64>,
    pub boundary: String,
    pub client_ref: Option<String>,
    pub body: Body,
}

/// The upload being received: its id, and its blob until committed.
struct Receiving {
    id: UploadId,
    writer: Option<Box<dyn BlobWriter>>,
    size: u64,
    sha256: String,
}

/// Receives one upload. On success it is stored and queued; on any failure after the
/// upload was announced, it is marked failed and its partial bytes removed.
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
    let body = request.body.into_data_stream().inspect_ok(move |chunk| {
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    });
    let mut multipart = multer::Multipart::new(body, request.boundary);
    let mut current: Option<Receiving> = None;
    let idle = state.config.upload_idle_timeout();

    let outcome: Result<(), ApiError> = async {
        loop {
            let field = match timeout(idle, multipart.next_field()).await {
                Err(_) => return Err(abandoned()),
                Ok(Err(e)) => return Err(multipart_error(e)),
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(field))) => field,
            };
            if field.name() != Some("file") {
                skip_field(field, idle).await?;
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
            let writer = state.blobs.create(&BlobKey::Original(upload.id.clone())).await?;
            let receiving = current.insert(Receiving {
                id: upload.id,
                writer: Some(writer),
                size: 0,
                sha256: String::new(),
            });
            let total = request.content_length;
            receive_file(state, field, receiving, &mut ticket, &received, total).await?;
        }
    }
    .await;

    match (outcome, current) {
        (Ok(()), None) => {
            Err(ApiError::bad_request(ErrorCode::MissingFile, "the form has no part named `file`"))
        }
        (Ok(()), Some(mut receiving)) => {
            if let Some(writer) = receiving.writer.take() {
                writer.commit().await?;
            }
            let total = received.load(Ordering::Relaxed);
            let stored = Change {
                status: Some(UploadStatus::Queued),
                size: Some(receiving.size),
                sha256: Some(receiving.sha256),
                percent: Some(Stage::Receiving.percent(1, 1)),
                bytes_received: Some(total),
                bytes_total: Some(request.content_length.unwrap_or(total)),
                ..Change::default()
            };
            let upload = match state.recorder.record(&receiving.id, stored).await {
                Ok(upload) => upload,
                Err(error) => {
                    // Cancelled or deleted as its last bytes arrived: they are not wanted.
                    state.blobs.delete(&BlobKey::Original(receiving.id.clone())).await?;
                    return Err(cancelled(error));
                }
            };
            ticket.keep();
            state.jobs.enqueue(&request.owner, upload.id.clone());
            Ok(upload)
        }
        (Err(error), None) => {
            // How much of the body came, against what it announced: tells a client that
            // broke off from a body that was short or malformed.
            tracing::info!(
                received = received.load(Ordering::Relaxed),
                content_length = request.content_length,
                "upload refused before its file part"
            );
            Err(error)
        }
        (Err(error), Some(mut receiving)) => {
            if let Some(writer) = receiving.writer.take() {
                writer.abort().await;
            }
            let body = failure_body(&error);
            tracing::info!(upload = %receiving.id, code = body.code.as_str(), "upload not received");
            match state
                .recorder
                .record(&receiving.id, Change::failed(UploadStatus::Failed, body))
                .await
            {
                // Deleted while it was arriving: nothing left to mark.
                Ok(_) | Err(StoreError::NotFound | StoreError::Finished) => {}
                Err(e) => {
                    tracing::error!(upload = %receiving.id, error = %e, "could not mark an upload failed")
                }
            }
            Err(error)
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
    let idle = state.config.upload_idle_timeout();
    let mut hasher = Sha256::new();
    let mut last_progress = Instant::now();
    let writer = receiving.writer.as_mut().expect("a receiving upload has a writer");
    loop {
        let chunk = match timeout(idle, field.chunk()).await {
            Err(_) => return Err(abandoned()),
            Ok(Err(e)) => return Err(multipart_error(e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
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

/// Reads and discards a non-file form field, refusing large ones.
async fn skip_field(mut field: multer::Field<'static>, idle: Duration) -> Result<(), ApiError> {
    let mut seen = 0;
    loop {
        match timeout(idle, field.chunk()).await {
            Err(_) => return Err(abandoned()),
            Ok(Err(e)) => return Err(multipart_error(e)),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(chunk))) => {
                seen += chunk.len();
                if seen > MAX_FIELD_BYTES {
                    return Err(ApiError::bad_request(
                        ErrorCode::InvalidRequest,
                        "form fields other than `file` must be small",
                    ));
                }
            }
        }
    }
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
        // The body itself broke off: the client went away or the connection dropped.
        multer::Error::StreamReadFailed(_) => abandoned(),
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
        _ => ErrorBody::new(ErrorCode::Internal, "the upload could not be stored"),
    }
}
