//! `GET /api/events`: one stream for all of the caller's uploads, new ones included.

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
    routing::get,
    Router,
};
use serde::Deserialize;

use super::{last_event_id, sse_response};
use crate::{
    events::{event_stream, StreamRequest},
    state::AppState,
    store::Scope,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(all_events))
}

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    pub last_event_id: Option<String>,
}

async fn all_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Response {
    let request = StreamRequest {
        scope: Scope::All,
        last_event_id: last_event_id(&headers, query.last_event_id.as_deref()),
        end_on_terminal: false,
    };
    sse_response(event_stream(state.stream_deps(), request))
}
