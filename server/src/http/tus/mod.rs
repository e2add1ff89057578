//! tus 1.0 resumable uploads (tus/tus-resumable-upload-protocol, `protocol.md`):
//! `/api/tus` creates, `/api/tus/{id}` answers HEAD, PATCH and DELETE, where `{id}` is
//! the upload's own id. The protocol's headers are read here (`headers.rs`); the bytes
//! go through the uploads domain's resumable ingest, so a tus upload is an `Upload` like
//! any other, with the same events, pipeline and routes.

pub mod headers;
mod trailer;

use axum::{
    body::{Body, HttpBody},
    extract::{Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{any, post},
    Router,
};
use shared::{routes, ErrorCode, UploadId};

use super::{
    error::ApiError,
    extract::Path,
    on_own_task,
    state::AppState,
    upload_id,
    uploads::{client_ref, upload_body},
};
use crate::{
    auth::CurrentUser,
    uploads::resumable::{self, Append, Checksum, Creation, Expected, Final, Status},
};
use headers::{
    format_metadata, parse_checksum, parse_concat, parse_metadata, parse_number, text_value,
    Algorithm, ChecksumError, Concat,
};

/// The only version spoken.
const VERSION: &str = "1.0.0";

const EXTENSIONS: &str =
    "creation,creation-with-upload,creation-defer-length,expiration,checksum,checksum-trailer,termination,concatenation";

const TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
const TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
const UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
const UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
const UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
const UPLOAD_CONCAT: HeaderName = HeaderName::from_static("upload-concat");
const UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");

/// What a PATCH's body must say it is.
const OFFSET_STREAM: &str = "application/offset+octet-stream";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::TUS, post(create).options(options))
        .route(routes::TUS_UPLOAD, any(upload))
        .layer(axum::middleware::from_fn(versioned))
}

/// Every answer but OPTIONS says which version it speaks; a request for another
/// version is refused with the one there is.
async fn versioned(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let asked = request.headers().get(&TUS_RESUMABLE).and_then(|v| v.to_str().ok());
    let mut response = if asked == Some(VERSION) {
        next.run(request).await
    } else {
        let refused = ApiError::bad_request(
            ErrorCode::InvalidRequest,
            format!("this server speaks tus {VERSION} (send Tus-Resumable: {VERSION})"),
        );
        let mut response = refused.into_response();
        *response.status_mut() = StatusCode::PRECONDITION_FAILED;
        response.headers_mut().insert(TUS_VERSION, HeaderValue::from_static(VERSION));
        response
    };
    response.headers_mut().insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    response
}

async fn options(State(state): State<AppState>) -> Response {
    let max = state.config.max_upload_bytes.to_string();
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(TUS_VERSION, HeaderValue::from_static(VERSION));
    headers.insert(HeaderName::from_static("tus-extension"), HeaderValue::from_static(EXTENSIONS));
    headers.insert(HeaderName::from_static("tus-max-size"), value(&max));
    let algorithms: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    headers.insert(HeaderName::from_static("tus-checksum-algorithm"), value(&algorithms.join(",")));
    response
}

async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bad = |message: String| ApiError::bad_request(ErrorCode::InvalidRequest, message);
    let concat_sent = header_text(&headers, &UPLOAD_CONCAT);
    let concat = match concat_sent {
        None => Concat::None,
        Some(text) => parse_concat(text).map_err(bad)?,
    };
    let metadata = header_text(&headers, &UPLOAD_METADATA).unwrap_or_default().to_owned();
    let pairs = parse_metadata(&metadata).map_err(bad)?;
    let mut creation = Creation {
        owner: current.id().clone(),
        length: None,
        filename: super::super::uploads::display_name(text_value(&pairs, "filename").as_deref()),
        filetype: text_value(&pairs, "filetype"),
        // The dashboard's own name for the card that sends it.
        client_ref: client_ref(text_value(&pairs, "client_ref"))?,
        metadata,
        expiry: state.config.tus_expiry,
        partial: concat == Concat::Partial,
    };
    if let Concat::Final(parts) = concat {
        // Its length is its partials'; it takes no bytes of its own.
        if headers.contains_key(&UPLOAD_LENGTH) || content_length(&headers).is_some_and(|n| n > 0) {
            return Err(bad("a final upload has its partials' length and no bytes".into()));
        }
        let concat = concat_sent.unwrap_or_default().to_owned();
        let made = Final { creation, parts, concat };
        let status = on_own_task({
            let uploads = state.uploads.clone();
            async move { Ok(resumable::create_final(&uploads, made).await?) }
        })
        .await?;
        return Ok(created(&status, false));
    }
    creation.length = match (
        header_text(&headers, &UPLOAD_LENGTH),
        header_text(&headers, &UPLOAD_DEFER_LENGTH),
    ) {
        (Some(length), None) => {
            Some(parse_number(length).ok_or_else(|| bad("Upload-Length is a number".into()))?)
        }
        (None, Some("1")) => None,
        _ => return Err(bad("send Upload-Length, or Upload-Defer-Length: 1".into())),
    };
    let mut status = resumable::create(&state.uploads, creation).await?;
    // creation-with-upload: the first bytes came with it.
    let with_bytes = is_offset_stream(&headers) && content_length(&headers) != Some(0);
    if with_bytes {
        // The upload exists whatever becomes of these bytes: the answer gives its
        // Location, and the offset that was kept, for the client to go on from.
        let id = status.upload.id.clone();
        if let Err(error) = append(&state, &current, &id, 0, None, None, body).await {
            tracing::info!(upload = %id, ?error, "the bytes sent with a creation were not all kept");
        }
        status = resumable::settled(&state.uploads, current.id(), &id).await?;
    }
    Ok(created(&status, with_bytes))
}

/// `201` with the new upload's `Location`.
fn created(status: &Status, offset: bool) -> Response {
    let location = routes::of(routes::TUS_UPLOAD, &status.upload.id);
    let mut response =
        (StatusCode::CREATED, [(header::LOCATION, value(&location))]).into_response();
    described(&mut response, status, offset);
    response
}

/// HEAD, PATCH and DELETE, and POST with `X-HTTP-Method-Override` for clients that
/// can only send POST.
async fn upload(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(raw): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = upload_id(&raw)?;
    let overridden = headers.get("x-http-method-override").and_then(|v| v.to_str().ok());
    let method = match (method, overridden) {
        (Method::POST, Some(name)) => Method::from_bytes(name.as_bytes()).unwrap_or(Method::POST),
        (method, _) => method,
    };
    // HEAD and DELETE may wait for a request that holds the upload.
    match method {
        Method::HEAD => on_own_task(async move { head(&state, &current, &id).await }).await,
        Method::PATCH => patch(&state, &current, &id, &headers, body).await,
        Method::DELETE => on_own_task(async move { terminate(&state, &current, &id).await }).await,
        _ => Err(ApiError::Rejected(
            ErrorCode::InvalidRequest,
            "a tus upload answers HEAD, PATCH and DELETE".into(),
        )),
    }
}

async fn head(
    state: &AppState,
    current: &CurrentUser,
    id: &UploadId,
) -> Result<Response, ApiError> {
    let status = resumable::settled(&state.uploads, current.id(), id).await?;
    let mut response = StatusCode::OK.into_response();
    described(&mut response, &status, true);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !status.resumable.metadata.is_empty() {
        let pairs = parse_metadata(&status.resumable.metadata).unwrap_or_default();
        headers.insert(UPLOAD_METADATA, value(&format_metadata(&pairs)));
    }
    Ok(response)
}

async fn patch(
    state: &AppState,
    current: &CurrentUser,
    id: &UploadId,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !is_offset_stream(headers) {
        return Err(ApiError::Rejected(
            ErrorCode::UnsupportedType,
            format!("a PATCH's body is {OFFSET_STREAM}"),
        ));
    }
    let offset = header_text(headers, &UPLOAD_OFFSET).and_then(parse_number).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidRequest, "send Upload-Offset, a number")
    })?;
    let length = match header_text(headers, &UPLOAD_LENGTH) {
        None => None,
        Some(text) => Some(parse_number(text).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidRequest, "Upload-Length is a number")
        })?),
    };
    let (checksum, body) = match header_text(headers, &UPLOAD_CHECKSUM) {
        Some(header) => {
            let checksum = checksum_of(header)
                .map_err(|why| ApiError::bad_request(ErrorCode::InvalidRequest, why))?;
            (Some(Expected::Now(checksum)), body)
        }
        // checksum-trailer: it comes after the bytes.
        None if announces_checksum_trailer(headers) => {
            let (body, trailers) = trailer::keep(body);
            let later = move || match trailers.take() {
                Some(trailers) => match header_text(&trailers, &UPLOAD_CHECKSUM) {
                    Some(header) => checksum_of(header),
                    None => Err("the Upload-Checksum trailer announced was not sent".into()),
                },
                None => Err("the Upload-Checksum trailer announced was not sent".into()),
            };
            (Some(Expected::Later(Box::new(later))), body)
        }
        None => (None, body),
    };
    let status = append(state, current, id, offset, length, checksum, body).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    described(&mut response, &status, true);
    Ok(response)
}

/// termination: the upload ends `cancelled`, and its bytes go.
async fn terminate(
    state: &AppState,
    current: &CurrentUser,
    id: &UploadId,
) -> Result<Response, ApiError> {
    resumable::terminate(&state.uploads, current.id(), id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Appends a request body, reading on past a refusal so the client gets the answer.
async fn append(
    state: &AppState,
    current: &CurrentUser,
    id: &UploadId,
    offset: u64,
    length: Option<u64>,
    checksum: Option<Expected>,
    body: Body,
) -> Result<Status, ApiError> {
    let content_length = body.size_hint().exact();
    let (body, rest) = upload_body(body);
    let request = Append {
        owner: current.id().clone(),
        id: id.clone(),
        offset,
        length,
        body,
        content_length,
        expiry: state.config.tus_expiry,
        checksum,
    };
    // The append must still save what arrived, and finish the upload on its last
    // byte, when the client hangs up.
    let uploads = state.uploads.clone();
    let appended = on_own_task(async move { Ok(resumable::append(&uploads, request).await?) });
    let appended = appended.await;
    rest.linger(state.config.max_upload_bytes);
    appended
}

/// Reads `Upload-Checksum`, saying what is wrong with one that cannot be used.
fn checksum_of(header: &str) -> Result<Checksum, String> {
    let (algorithm, digest) = parse_checksum(header).map_err(|error| match error {
        ChecksumError::Unsupported(name) => format!(
            "the checksum algorithm {name:?} is not one of {}",
            Algorithm::ALL.map(Algorithm::name).join(", ")
        ),
        ChecksumError::Malformed => "Upload-Checksum is `algorithm base64digest`".into(),
    })?;
    Ok(Checksum { algorithm, digest })
}

/// Whether the request says `Upload-Checksum` follows its body (`Trailer:`).
fn announces_checksum_trailer(headers: &HeaderMap) -> bool {
    headers.get_all(header::TRAILER).iter().filter_map(|v| v.to_str().ok()).any(|names| {
        names.split(',').any(|name| name.trim().eq_ignore_ascii_case("upload-checksum"))
    })
}

/// The offset, length and expiry headers of an answer about `status`.
fn described(response: &mut Response, status: &Status, offset: bool) {
    let headers = response.headers_mut();
    if offset {
        headers.insert(UPLOAD_OFFSET, value(&status.offset().to_string()));
    }
    match status.resumable.length {
        Some(length) => headers.insert(UPLOAD_LENGTH, value(&length.to_string())),
        None => headers.insert(UPLOAD_DEFER_LENGTH, HeaderValue::from_static("1")),
    };
    if let Some(expires) = http_date(&status.resumable.expires_at) {
        headers.insert(UPLOAD_EXPIRES, value(&expires));
    }
    match (&status.resumable.concat, status.partial) {
        (Some(concat), _) => headers.insert(UPLOAD_CONCAT, value(concat)),
        (None, true) => headers.insert(UPLOAD_CONCAT, HeaderValue::from_static("partial")),
        (None, false) => None,
    };
}

/// RFC 3339 as an HTTP date (`Wed, 25 Jun 2014 16:00:00 GMT`), as `Upload-Expires` is.
fn http_date(rfc3339: &str) -> Option<String> {
    let at = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?.with_timezone(&chrono::Utc);
    Some(at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

fn header_text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn is_offset_stream(headers: &HeaderMap) -> bool {
    header_text(headers, &header::CONTENT_TYPE).is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(OFFSET_STREAM))
    })
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    header_text(headers, &header::CONTENT_LENGTH).and_then(parse_number)
}

/// Text known to be a valid header value (numbers, paths, base64, dates).
fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}
