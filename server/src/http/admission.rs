//! Who may hold a connection: at most `UPLINK_MAX_CONNECTIONS` open at once, and at most
//! `UPLINK_MAX_CONNECTIONS_PER_CLIENT` of them per client address, so that one client
//! cannot take every descriptor the server has. Past either cap a new connection is
//! answered `503 unavailable` at once and closed, and counted; nothing waits in a queue.
//!
//! A trusted proxy (`UPLINK_TRUSTED_PROXIES`) carries many clients on its connections, so
//! its connections count only towards the total, and each request it forwards takes the
//! forwarded client's place instead, for as long as its response lasts (an event stream,
//! a download).

use std::{
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use shared::{ErrorBody, ErrorCode};

use super::{
    client::{canonical, client_key, TrustedProxies},
    listener::ClientAddr,
};
use crate::{
    domain::slots::{Slot, Slots},
    http::state::AppState,
};

/// What a refused client is told, and how long before it tries again.
const REFUSAL_MESSAGE: &str = "too many connections; try again shortly";
const RETRY_AFTER_SECS: u64 = 1;

/// How often refusals are logged while they go on: an attack must not flood the log.
const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Admission {
    max_total: usize,
    open: AtomicUsize,
    per_client: Arc<Slots<IpAddr>>,
    trusted: Arc<TrustedProxies>,
    refused: AtomicU64,
    /// When refusals were last logged, and how many had been by then.
    logged: Mutex<(Option<Instant>, u64)>,
}

/// A connection (or a proxied request) admitted; its places are given back on drop.
#[derive(Debug)]
pub struct Admitted {
    admission: Option<Arc<Admission>>,
    _client: Option<Slot<IpAddr>>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(admission) = &self.admission {
            admission.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Admission {
    pub fn new(max_total: usize, max_per_client: u32, trusted: Arc<TrustedProxies>) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            open: AtomicUsize::new(0),
            per_client: Slots::new(max_per_client),
            trusted,
            refused: AtomicU64::new(0),
            logged: Mutex::new((None, 0)),
        })
    }

    /// A new connection from `peer`, or `None` if it must be refused.
    pub fn connection(self: &Arc<Self>, peer: IpAddr) -> Option<Admitted> {
        let peer = canonical(peer);
        if self.open.fetch_add(1, Ordering::Relaxed) >= self.max_total {
            self.open.fetch_sub(1, Ordering::Relaxed);
            self.refuse(peer, "open connections");
            return None;
        }
        // Counted from here; dropping it (refused below) gives the place back.
        let mut admitted = Admitted { admission: Some(Arc::clone(self)), _client: None };
        // A trusted proxy's clients take their places per request (`forwarded_clients`).
        if !self.trusted.trusts(peer) {
            admitted._client = Some(self.per_client.take(client_key(peer)).or_else(|| {
                self.refuse(peer, "connections from one client");
                None
            })?);
        }
        Some(admitted)
    }

    /// A request a trusted proxy forwarded for `client`, or `None` if it must be refused.
    fn forwarded(&self, client: IpAddr) -> Option<Admitted> {
        match self.per_client.take(client_key(client)) {
            Some(slot) => Some(Admitted { admission: None, _client: Some(slot) }),
            None => {
                self.refuse(client, "requests from one client");
                None
            }
        }
    }

    /// How many connections (and forwarded requests) were refused since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn refuse(&self, client: IpAddr, cap: &'static str) {
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut logged = self.logged.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if logged.0.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            tracing::warn!(%client, cap, refused_since_last_log = refused - logged.1,
                "refusing connections past the cap");
            *logged = (Some(Instant::now()), refused);
        }
    }
}

/// The whole answer a refused connection gets, written before its request is read: a
/// client that reads the answer learns why and when to come back.
pub fn refusal_bytes() -> Vec<u8> {
    let body = serde_json::to_string(&ErrorBody::new(ErrorCode::Unavailable, REFUSAL_MESSAGE))
        .expect("an error body serialises");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Middleware: a request from a trusted proxy takes its forwarded client's place for as
/// long as its response lasts.
pub async fn forwarded_clients(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let peer =
        request.extensions().get::<ConnectInfo<ClientAddr>>().map(|info| canonical(info.0 .0.ip()));
    let Some(peer) = peer.filter(|peer| state.trusted_proxies.trusts(*peer)) else {
        return next.run(request).await;
    };
    let client = state.trusted_proxies.client(peer, request.headers());
    let Some(admitted) = state.admission.forwarded(client) else {
        let body = ErrorBody::new(ErrorCode::Unavailable, REFUSAL_MESSAGE);
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        return response;
    };
    let response = next.run(request).await;
    // The place is held by the body, so a stream keeps it until it ends.
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _held = &admitted;
            frame
        }))
    })
}
