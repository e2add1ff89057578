//! HTTP routes: thin handlers that parse, call a domain module and map its errors.

pub mod admission;
mod auth;
mod blob_response;
pub mod catalog;
pub mod client;
pub mod config;
pub mod cors;
pub mod csp;
pub mod error;
mod events;
mod extract;
mod health;
mod linger;
pub mod listener;
pub mod origin;
pub mod pace;
pub mod pages;
mod recovery;
pub mod serve;
mod signals;
pub mod state;
mod tokens;
mod tus;
mod uploads;

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use futures_util::StreamExt;
use shared::{AccountId, ErrorCode, UploadId};

use crate::{
    events::{event_stream, StreamPlace, StreamRequest},
    http::error::ApiError,
    http::state::AppState,
};

/// Every API route; unknown `/api` paths answer with a JSON 404, not the HTML app.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(tokens::router())
        .merge(tus::router())
        .merge(uploads::router())
        .merge(events::router())
        .merge(health::router())
        .route("/api", any(unknown_route))
        .route("/api/{*rest}", any(unknown_route))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed() -> Response {
    let body = shared::ErrorBody::new(ErrorCode::InvalidRequest, "that method is not allowed here");
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

async fn unknown_route() -> Response {
    let body = shared::ErrorBody::new(ErrorCode::NotFound, "no such route");
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// Runs `work` on a task of its own and waits for it. A client that hangs up drops its
/// handler, not this work: a receive that must notice the broken body and save or fail
/// its upload, or a wait for an upload's hold that must not be left half-done.
async fn on_own_task<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await.map_err(|e| ApiError::Io(std::io::Error::other(e)))?
}

/// Parses an upload id from a path segment.
fn upload_id(raw: &str) -> Result<UploadId, ApiError> {
    UploadId::parse(raw)
        .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "that is not an upload id"))
}

/// The id a reconnecting client last saw: the `Last-Event-ID` header, or the
/// `last_event_id` query parameter for clients that cannot set headers. Anything that
/// is not a non-negative integer means "start from the present state".
fn last_event_id(headers: &HeaderMap, query: Option<&str>) -> Option<i64> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(query)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
}

/// A place for one more event stream of `account`'s (opened with `token`, if any), or
/// `429 too_many_streams`.
async fn stream_place(
    state: &AppState,
    account: &AccountId,
    token: Option<&str>,
) -> Result<StreamPlace, ApiError> {
    state.streams.take(account, token).await?.ok_or_else(|| {
        ApiError::TooManyStreams(format!(
            "at most {} event streams may be open at once; close one first",
            state.streams.max()
        ))
    })
}

/// The event stream `request` asks for, as an SSE response holding `place` until it ends.
fn stream_response(state: &AppState, request: StreamRequest, place: StreamPlace) -> Response {
    let frames = event_stream(state.stream_deps(), request);
    let frames = frames.map(move |frame| {
        let _held = &place;
        frame
    });
    let mut response = Response::new(Body::from_stream(frames));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx and friends not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_prefers_the_header_and_ignores_garbage() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("last-event-id", HeaderValue::from_str(value).unwrap());
            headers
        };
        let none = HeaderMap::new();
        let cases = [
            (with("42"), Some("7"), Some(42)),
            (none.clone(), Some("7"), Some(7)),
            (none.clone(), Some("0"), Some(0)),
            (with("abc"), None, None),
            (with("-3"), None, None),
            (none.clone(), Some("1e3"), None),
            (none, None, None),
        ];
        for (headers, query, expected) in cases {
            assert_eq!(last_event_id(&headers, query), expected, "{headers:?} {query:?}");
        }
    }
}
