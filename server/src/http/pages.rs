//! The gate in front of the server-rendered pages and their server functions: the
//! dashboard needs a session (without one, the browser is sent to `/login`), the login
//! and register pages are for visitors (with one, to `/`), and a server function called
//! without one answers `401` like the API.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::{error::ApiError, state::AppState};

/// Pages anyone may see.
const VISITOR_PAGES: [&str; 2] = ["/login", "/register"];

pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let for_visitors = VISITOR_PAGES.contains(&path);
    let server_fn = path.starts_with("/rpc/");
    match super::extract::current_user(request.headers(), &state).await {
        Ok(_) if for_visitors => Redirect::to("/").into_response(),
        Ok(current) => {
            request.extensions_mut().insert(current.user);
            next.run(request).await
        }
        Err(ApiError::Unauthenticated) if for_visitors => next.run(request).await,
        Err(ApiError::Unauthenticated) if !server_fn => Redirect::to("/login").into_response(),
        Err(error) => error.into_response(),
    }
}
