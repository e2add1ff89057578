//! Uplink's server: uploads streamed to storage, processed in the background, and every
//! step pushed to browsers over Server-Sent Events.
//!
//! [`app`] builds the whole router and [`run`] serves it, so tests and benchmarks start
//! the real thing on `127.0.0.1:0`; `main.rs` only reads configuration.
//!
//! Modules are layered, each using only those below it (`tests/it/layering.rs` checks):
//! `http` (with the composition root: `http::config` and `http::state`) → `auth`,
//! `uploads`, `processing`, `events` → `store` → `domain` → the `shared` crate.

pub mod auth;
pub mod domain;
pub mod events;
pub mod http;
pub mod processing;
pub mod store;
pub mod uploads;

use std::{future::Future, io, sync::Arc};

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

pub use http::config::Config;
pub use http::state::AppState;

/// The whole application: the API, the SSE streams and the server-rendered dashboard.
pub fn app(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let catalog = http::catalog::for_state(&state);
    let leptos_options = state.leptos_options.clone();
    let live_reload = http::csp::live_reload_source(&leptos_options);
    let page_context = move || {
        provide_context(catalog.clone());
        // leptos_axum made this response's nonce; the policy allows that one inline script.
        if let (Some(nonce), Some(response)) =
            (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        {
            let policy = http::csp::page_policy(&nonce, live_reload.as_deref());
            response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
        }
    };
    // The pages and their server functions, behind the session gate; the static files
    // of the fallback (the WASM bundle, CSS) are served to anyone.
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, page_context, move || {
            app::shell(leptos_options.clone())
        })
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), http::pages::gate));
    // On several nodes every response names the node that made it: which node did what
    // shows in a browser's network panel, and the tests see requests spread over nodes.
    let node = state
        .config
        .database_url
        .as_ref()
        .and_then(|_| HeaderValue::from_str(&state.config.node_id()).ok());
    let mut api = http::router();
    if let Some(cors) = http::cors::layer(&state.config.cors_origins) {
        api = api.layer(cors);
    }
    let app = Router::new()
        .merge(api)
        .merge(pages)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::origin::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::admission::forwarded_clients,
        ))
        // Every response: no content-type sniffing (an upload served back can never
        // become script), no framing by other sites (clickjacking), and no full URLs in
        // the Referer sent elsewhere. A handler that sets one of them keeps its own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    match node {
        Some(node) => app
            .layer(SetResponseHeaderLayer::overriding(HeaderName::from_static(NODE_HEADER), node)),
        None => app,
    }
}

/// The response header naming the node that answered, on several nodes.
pub const NODE_HEADER: &str = "x-uplink-node";

/// Serves `state` on `listener` until `shutdown` resolves. Then every event stream
/// ends, no new job starts, and open requests and running jobs get the shutdown grace
/// period to finish; jobs still running after it resume from their checkpoint on the
/// next start.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let token = state.shutdown.clone();
    let grace = state.config.shutdown_grace;
    let jobs = Arc::clone(&state.jobs);
    let repo = Arc::clone(&state.repo);
    let listener = http::listener::Listener::new(
        listener,
        state.config.write_timeout,
        Arc::clone(&state.stalled_connections),
    );
    let guards = http::serve::Guards {
        admission: Arc::clone(&state.admission),
        header_timeout: state.config.header_timeout,
        pace: state.config.min_pace(),
    };
    let serving = http::serve::serve(listener, app(state), guards, {
        let token = token.clone();
        async move {
            shutdown.await;
            tracing::info!(grace_secs = grace.as_secs(), "shutting down");
            token.cancel();
        }
    });
    let serving = async {
        tokio::select! {
            result = serving => result,
            _ = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("requests still open after the shutdown grace period; closing them");
                Ok(())
            }
        }
    };
    let draining = async {
        token.cancelled().await;
        jobs.drain(grace).await;
    };
    let (served, ()) = tokio::join!(
        async {
            let served = serving.await;
            // Also when serving failed on its own: nothing may keep running unowned.
            token.cancel();
            served
        },
        draining
    );
    if let Err(error) = repo.close().await {
        tracing::error!(%error, "closing the metadata store failed");
    }
    served
}

/// Leptos's settings: those cargo-leptos passes in the environment, or defaults for a
/// binary started by hand from the workspace root.
pub fn leptos_options() -> LeptosOptions {
    match get_configuration(None) {
        // Never an empty bundle name (a page loading `/pkg/.js`), however it was built.
        Ok(mut conf) if conf.leptos_options.output_name.is_empty() => {
            conf.leptos_options.output_name = OUTPUT_NAME.into();
            conf.leptos_options
        }
        Ok(conf) => conf.leptos_options,
        Err(_) => LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .build(),
    }
}

/// The bundle's name, as `[[workspace.metadata.leptos]]` and `.cargo/config.toml` say.
const OUTPUT_NAME: &str = "uplink";
