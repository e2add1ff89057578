//! The TCP listener Uplink serves on: small SSE frames leave at once, and a peer that
//! stops reading is disconnected instead of being written to forever.
//!
//! An SSE stream is only polled when its socket can take more bytes, so a client that
//! stops reading costs the server a full kernel send buffer, hyper's bounded write
//! buffer and one position in the shared event ring: bounded, but held for as long as
//! the connection lives. A write that makes no progress for the write timeout closes the
//! connection; the client's EventSource reconnects with `Last-Event-ID` and replays from
//! the durable log, so closing it loses nothing.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{sleep, Sleep},
};

/// Accepts connections with `TCP_NODELAY` and a write timeout.
pub struct Listener {
    inner: TcpListener,
    write_timeout: Duration,
    closed: Arc<watch::Sender<u64>>,
}

impl Listener {
    /// `closed` counts the connections cut for stalling, for logs and tests.
    pub fn new(
        inner: TcpListener,
        write_timeout: Duration,
        closed: Arc<watch::Sender<u64>>,
    ) -> Self {
        Self { inner, write_timeout, closed }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        // Nagle's algorithm would hold a small SSE frame back until the previous one
        // is acknowledged: tens of milliseconds per event.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "setting TCP_NODELAY failed");
        }
        let connection = Connection {
            stream,
            peer: addr,
            write_timeout: self.write_timeout,
            stalled_since: None,
            closed: Arc::clone(&self.closed),
        };
        (connection, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The peer's address, for handlers that extract `ConnectInfo<ClientAddr>` (the accept
/// loop in `serve.rs` puts it on every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// One accepted connection.
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    write_timeout: Duration,
    /// Armed when a write finds the socket full; disarmed by any write that succeeds.
    stalled_since: Option<Pin<Box<Sleep>>>,
    closed: Arc<watch::Sender<u64>>,
}

impl Connection {
    /// Answers a connection that was not admitted with `answer` (as much as the socket
    /// takes at once, which for a fresh one is all of it) and closes it, never waiting.
    pub fn refuse(self, answer: &[u8]) {
        if let Err(error) = self.stream.try_write(answer) {
            tracing::debug!(peer = %self.peer, %error, "could not answer a refused connection");
        }
    }

    /// Runs a write; while it cannot proceed, the timer runs too, and when the timer
    /// fires first the write fails, which makes hyper drop the connection.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        write: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match write(Pin::new(&mut self.stream), cx) {
            Poll::Ready(result) => {
                self.stalled_since = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timer =
                    self.stalled_since.get_or_insert_with(|| Box::pin(sleep(self.write_timeout)));
                ready!(timer.as_mut().poll(cx));
                self.stalled_since = None;
                self.closed.send_modify(|n| *n += 1);
                tracing::info!(peer = %self.peer, timeout_ms = self.write_timeout.as_millis() as u64,
                    "closing a connection whose client stopped reading");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")))
            }
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, |stream, cx| stream.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
