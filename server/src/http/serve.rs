//! The accept loop: every connection served by hyper's HTTP/1.1 connection directly, and
//! drained on shutdown.
//!
//! `axum::serve` would do the same through hyper-util's `auto` builder, which also
//! detects HTTP/2 (prior knowledge) and upgrades on every connection. Browsers speak
//! HTTP/2 only over TLS, which a proxy in front terminates, and Uplink upgrades nothing,
//! so that costs memory for nothing: measured with `make bench-load ARGS='idle'`, an idle
//! event stream held 18.4 KiB of server RSS through `axum::serve` and 13.8 KiB here.

use std::{future::Future, io};

use axum::{body::Body, extract::ConnectInfo, http::Request, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown, service::TowerToHyperService};
use tower::ServiceExt;

use super::listener::{ClientAddr, Listener};

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and
/// returns once every open connection has finished its request and closed (idle ones at
/// once; a stream ends when the server's shutdown ends it).
pub async fn serve(
    mut listener: Listener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let connections = GracefulShutdown::new();
    let http = http1::Builder::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, addr) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // Handlers find the peer's address as `axum::serve` would put it.
        let service = router.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(ClientAddr(addr)));
            request.map(Body::new)
        });
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = connections.watch(connection);
        tokio::spawn(async move {
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
