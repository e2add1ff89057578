//! The accept loop: every connection admitted under the connection caps, served by
//! hyper's HTTP/1.1 connection directly with a header timeout and every request body held
//! to the minimum pace, and drained on shutdown.
//!
//! `axum::serve` would do the same through hyper-util's `auto` builder, which also
//! detects HTTP/2 (prior knowledge) and upgrades on every connection. Browsers speak
//! HTTP/2 only over TLS, which a proxy in front terminates, and Uplink upgrades nothing,
//! so that costs memory for nothing: measured with `make bench-load ARGS='idle'`, an idle
//! event stream held 18.4 KiB of server RSS through `axum::serve` and 13.8 KiB here.

use std::{future::Future, io, sync::Arc, time::Duration};

use axum::{body::Body, extract::ConnectInfo, http::Request, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tower::ServiceExt;

use super::{
    admission::{refusal_bytes, Admission},
    listener::{ClientAddr, Listener},
    pace::MinPace,
};

/// What every connection is held to.
pub struct Guards {
    pub admission: Arc<Admission>,
    /// How long a connection may take to send a request head, counted from when it
    /// opened or its previous response ended. hyper needs a timer to enforce it: without
    /// one, a client that never finishes its headers held its connection for good.
    pub header_timeout: Duration,
    pub pace: MinPace,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// returns once every open connection has finished its request and closed (idle ones at
/// once; a stream ends when the server's shutdown ends it).
pub async fn serve(
    mut listener: Listener,
    router: Router,
    guards: Guards,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let connections = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(guards.header_timeout);
    let refusal = refusal_bytes();
    let pace = guards.pace;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let Some(admitted) = guards.admission.connection(addr.ip()) else {
            io.refuse(&refusal);
            continue;
        };
        // Handlers find the peer's address as `axum::serve` would put it.
        let service = router.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(ClientAddr(addr)));
            request.map(|body| pace.hold(Body::new(body)))
        });
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _admitted = admitted;
            // A client hanging up mid-request, or cut for not reading: nothing to do.
            if let Err(error) = connection.await {
                tracing::debug!(peer = %addr, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}
