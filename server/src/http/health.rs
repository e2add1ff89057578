//! `GET /healthz`: 200 when the server can serve.

use axum::{extract::State, http::StatusCode, routing::get, Router};
use shared::routes;

use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(routes::HEALTH, get(health))
}

async fn health(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match state.repo.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "metadata store unavailable")
        }
    }
}
