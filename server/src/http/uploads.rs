//! `/api/uploads…`: create (streamed), list, get, delete, download, text, events, and
//! events tokens. Every route needs a session and sees only its account's uploads;
//! another account's upload is a 404, exactly like one that does not exist. The one
//! exception is an upload's events route, which also takes `?token=` in place of one.

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use shared::{routes, ErrorCode, EventsToken, LoggedEvent, Upload, UploadStatus};

use super::{blob_response::blob_response, error::ApiError, state::AppState};
use super::{
    events::StreamQuery,
    extract::{Path, Query},
    last_event_id, linger, on_own_task,
    pace::TooSlow,
    stream_place, stream_response, upload_id,
};
use crate::{
    auth::{token::unix_now, CurrentUser},
    events::StreamRequest,
    store::{BlobKey, Scope},
    uploads::{
        find_cause, history,
        ingest::{ingest, BodyError, BodyStream, IngestRequest},
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            routes::UPLOADS,
            // The size limit is ours (UPLINK_MAX_UPLOAD_BYTES), enforced while streaming.
            get(list).post(create).layer(DefaultBodyLimit::disable()),
        )
        .route(routes::UPLOAD, get(show).delete(remove))
        .route(routes::UPLOAD_FILE, get(download))
        .route(routes::UPLOAD_TEXT, get(text))
        .route(routes::UPLOAD_THUMBNAIL, get(thumbnail))
        .route(routes::UPLOAD_TIMELINE, get(timeline))
        .route(routes::UPLOAD_EVENTS, get(events))
        .route(routes::UPLOAD_TOKEN, post(token))
        .route(routes::UPLOAD_CANCEL, post(cancel))
        .route(routes::UPLOAD_RETRY, post(retry))
}

#[derive(Debug, Deserialize)]
struct CreateQuery {
    client_ref: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<CreateQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let boundary =
        content_type.and_then(|ct| multer::parse_boundary(ct).ok()).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidMultipart,
                "send multipart/form-data with one part named `file`",
            )
        })?;
    let client_ref = client_ref(query.client_ref)?;
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));

    // The stream's place is taken before a byte is read: an upload whose answer could
    // not be sent must not be stored.
    let place = match wants_stream {
        true => Some(stream_place(&state, current.id(), None).await?),
        false => None,
    };

    // Received on its own task: if the client disconnects, this handler is dropped, but
    // the receive runs on to notice the broken body and mark the upload failed.
    let owner = current.id().to_owned();
    let (body, rest) = upload_body(body);
    let request =
        IngestRequest { owner: owner.clone(), content_length, boundary, client_ref, body };
    let uploads = state.uploads.clone();
    let upload = on_own_task(async move { Ok(ingest(&uploads, request).await?) }).await;
    // Refused part-way (or with bytes after the form's end): the client still gets to
    // read the answer.
    rest.linger(state.uploads.max_upload_bytes);
    let upload = upload?;

    if let Some(place) = place {
        let request = StreamRequest {
            scope: Scope::upload(owner, upload.id.clone()),
            // The whole history of this upload, from its first byte, then live.
            last_event_id: Some(0),
            end_on_terminal: true,
            session: Some(current.session),
        };
        return Ok(stream_response(&state, request, place));
    }
    let location = HeaderValue::from_str(&routes::of(routes::UPLOAD, &upload.id))
        .map_err(|e| ApiError::Io(std::io::Error::other(e)))?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(upload)).into_response())
}

/// An upload's request body as the uploads domain reads it, and what reads on past a
/// refusal so the client gets the answer (`linger.rs`).
pub(super) fn upload_body(body: Body) -> (BodyStream, linger::Rest) {
    let (body, rest) = linger::tap(body);
    (body.map_err(|error| body_error(&error)).boxed(), rest)
}

/// A client's own name for an upload (the dashboard's card key), empty being none.
pub(super) fn client_ref(sent: Option<String>) -> Result<Option<String>, ApiError> {
    let client_ref = sent.filter(|r| !r.is_empty());
    if client_ref.as_ref().is_some_and(|r| {
        r.len() > 64 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidRequest,
            "client_ref is at most 64 letters, digits, `-` or `_`",
        ));
    }
    Ok(client_ref)
}

/// What broke a request body off, in the uploads domain's words.
fn body_error(error: &axum::Error) -> BodyError {
    match find_cause::<TooSlow>(error) {
        Some(slow) => BodyError::TooSlow(slow.to_string()),
        None => BodyError::Broken,
    }
}

async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<Vec<Upload>>, ApiError> {
    Ok(Json(state.repo.list(current.id()).await?))
}

/// The caller's upload with this id: 404 when it does not exist or is someone else's.
async fn find(state: &AppState, current: &CurrentUser, raw_id: &str) -> Result<Upload, ApiError> {
    Ok(state.uploads.find(current.id(), &upload_id(raw_id)?).await?)
}

async fn show(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(find(&state, &current, &id).await?))
}

/// Stops an upload still arriving, or a queued or running job: `200` and the cancelled
/// upload.
async fn cancel(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(state.uploads.cancel(current.id(), &upload_id(&id)?).await?))
}

/// Runs a failed or cancelled upload's job again, from the stored bytes: `200` and the
/// upload, `queued` again with the next `attempt`.
async fn retry(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Upload>, ApiError> {
    Ok(Json(state.uploads.retry(current.id(), &upload_id(&id)?).await?))
}

async fn remove(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.uploads.remove(current.id(), &upload_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn download(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let upload = find(&state, &current, &id).await?;
    if upload.status == UploadStatus::Uploading {
        return Err(ApiError::NotFound);
    }
    let content_type = upload.content_type.as_deref().unwrap_or("application/octet-stream");
    blob_response(
        &state,
        &headers,
        BlobKey::Original(upload.id.clone()),
        content_type,
        Some(&upload.filename),
        upload.sha256.as_deref(),
    )
    .await
}

async fn text(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let upload = find(&state, &current, &id).await?;
    let key = history::text_key(&upload).ok_or(ApiError::NotFound)?;
    blob_response(&state, &headers, key, "text/plain; charset=utf-8", None, None).await
}

#[derive(Debug, Deserialize)]
struct TimelineQuery {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

/// The upload's logged events, oldest first: up to `limit` (at most 10,000) after event
/// `after`, so a long history is read in pages.
async fn timeline(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<TimelineQuery>,
) -> Result<Json<Vec<LoggedEvent>>, ApiError> {
    let upload = find(&state, &current, &id).await?;
    let limit = query.limit.unwrap_or(history::MAX_TIMELINE);
    let timeline = history::timeline(&state.uploads, current.id(), &upload.id, query.after, limit);
    Ok(Json(timeline.await?))
}

/// An image upload's small PNG, for the dashboard card.
async fn thumbnail(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let upload = find(&state, &current, &id).await?;
    if !upload.has_thumbnail {
        return Err(ApiError::NotFound);
    }
    let key = BlobKey::Thumbnail(upload.id);
    blob_response(&state, &headers, key, "image/png", None, None).await
}

/// One upload's events, to its owner's session or to anyone with a valid `?token=` for
/// it. A token is checked before the upload is looked up, so a bad one learns nothing.
async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let id = upload_id(&id)?;
    let (owner, session) = match query.token.as_deref() {
        Some(token) => {
            if !state.token_key.verify(token, &id, unix_now()) {
                return Err(ApiError::InvalidToken);
            }
            (state.repo.owner_of(&id).await?.ok_or(ApiError::NotFound)?, None)
        }
        None => {
            let current = super::extract::current_user(&headers, &state).await?;
            state.uploads.find(current.id(), &id).await?;
            (current.user.id, Some(current.session))
        }
    };
    let place = stream_place(&state, &owner, query.token.as_deref()).await?;
    let request = StreamRequest {
        scope: Scope::upload(owner, id),
        last_event_id: last_event_id(&headers, query.last_event_id.as_deref()),
        end_on_terminal: true,
        session,
    };
    Ok(stream_response(&state, request, place))
}

async fn token(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<EventsToken>, ApiError> {
    let upload = find(&state, &current, &id).await?;
    let ttl = state.config.token_ttl;
    let expires = unix_now() + ttl.as_secs().max(1);
    let token = state.token_key.issue(&upload.id, expires);
    let expires_at = chrono::DateTime::from_timestamp(expires as i64, 0)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let events_url = format!("{}?token={token}", routes::of(routes::UPLOAD_EVENTS, &upload.id));
    Ok(Json(EventsToken { token, expires_at, events_url }))
}
