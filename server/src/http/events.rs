//! `GET /api/events`: one stream for all of the caller's uploads, new ones included.

use axum::{extract::State, http::HeaderMap, response::Response, routing::get, Router};
use serde::Deserialize;
use shared::routes;

use super::{extract::Query, last_event_id, stream_place, stream_response};
use crate::{
    auth::CurrentUser, events::StreamRequest, http::error::ApiError, http::state::AppState,
    store::Scope,
};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::EVENTS, get(all_events))
}

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    pub last_event_id: Option<String>,
    /// An events token; only an upload's own events route accepts one.
    pub token: Option<String>,
}

/// Every upload of the caller's, replay included. A `?token=` is no use here: tokens
/// open one upload's events, never an account's.
async fn all_events(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let place = stream_place(&state, current.id(), None).await?;
    let request = StreamRequest {
        scope: Scope::account(current.user.id),
        last_event_id: last_event_id(&headers, query.last_event_id.as_deref()),
        end_on_terminal: false,
        session: Some(current.session),
    };
    Ok(stream_response(&state, request, place))
}
