//! HTTP/1.1 over the server's public contract only: one connection per request (as curl
//! or a browser tab opening a stream would), from several loopback source addresses so
//! that tens of thousands of connections do not run out of ephemeral ports.

use std::{
    convert::Infallible,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::atomic::{AtomicUsize, Ordering},
};

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::{
    body::{Frame, Incoming},
    header, Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where the server is, and the addresses connections leave from.
pub struct Client {
    server: SocketAddr,
    host: String,
    sources: Vec<IpAddr>,
    next: AtomicUsize,
}

/// A logged-in account: its name and session cookie (`name=value`).
#[derive(Clone)]
pub struct Account {
    pub cookie: String,
}

pub const PASSWORD: &str = "benchmark password";

impl Client {
    /// `sources` loopback addresses (127.0.0.1, .2, …) when the server is on loopback;
    /// otherwise the system picks.
    pub fn new(server: SocketAddr, sources: u8) -> Self {
        let sources = match server.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => {
                (1..=sources.max(1)).map(|n| IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))).collect()
            }
            _ => Vec::new(),
        };
        Self { server, host: server.to_string(), sources, next: AtomicUsize::new(0) }
    }

    /// Sends one request on a connection of its own.
    pub async fn send(&self, request: Request<Body>) -> Result<Response<Incoming>, Error> {
        let socket = TcpSocket::new_v4()?;
        if !self.sources.is_empty() {
            let n = self.next.fetch_add(1, Ordering::Relaxed) % self.sources.len();
            socket.bind(SocketAddr::new(self.sources[n], 0))?;
        }
        let stream = socket.connect(self.server).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender.send_request(request).await?)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
    ) -> http::request::Builder {
        let mut builder =
            Request::builder().method(method).uri(path).header(header::HOST, &self.host);
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        builder
    }

    /// Registers `username` (or logs in, if a previous run made it) and keeps the cookie.
    pub async fn account(&self, username: &str) -> Result<Account, Error> {
        let credentials =
            serde_json::json!({ "username": username, "password": PASSWORD }).to_string();
        for path in ["/api/auth/register", "/api/auth/login"] {
            let request = self
                .request("POST", path, None)
                .header(header::CONTENT_TYPE, "application/json")
                .body(full(credentials.clone()))?;
            let response = self.send(request).await?;
            if response.status() == StatusCode::CONFLICT {
                continue;
            }
            let cookie = response
                .headers()
                .get(header::SET_COOKIE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(';').next())
                .map(str::to_owned);
            let status = response.status();
            return match cookie {
                Some(cookie) if status.is_success() => Ok(Account { cookie }),
                _ => Err(format!("{path} answered {status}: {}", text(response).await).into()),
            };
        }
        Err("register and login both refused".into())
    }

    /// `GET path` as an event stream.
    pub async fn events(&self, path: &str, account: &Account) -> Result<Response<Incoming>, Error> {
        let request = self
            .request("GET", path, Some(&account.cookie))
            .header(header::ACCEPT, "text/event-stream")
            .body(empty())?;
        let response = self.send(request).await?;
        if response.status() != StatusCode::OK {
            return Err(format!("{path} answered {}", response.status()).into());
        }
        Ok(response)
    }

    /// `POST /api/uploads` with one file part whose bytes come from `file`; `sse` asks
    /// for the upload's event stream instead of the JSON answer.
    pub async fn upload(
        &self,
        account: &Account,
        name: &str,
        content_type: &str,
        file: Upload,
        sse: bool,
    ) -> Result<Response<Incoming>, Error> {
        let boundary = "uplink-bench-7d1f0c";
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let length = head.len() as u64 + file.len + tail.len() as u64;
        let parts = stream::once(async move { Bytes::from(head) })
            .chain(file.chunks)
            .chain(stream::once(async move { Bytes::from(tail) }))
            .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk)));
        let request = self
            .request("POST", "/api/uploads", Some(&account.cookie))
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .header(header::CONTENT_LENGTH, length)
            .header(header::ACCEPT, if sse { "text/event-stream" } else { "application/json" })
            .body(BodyExt::boxed_unsync(StreamBody::new(parts)))?;
        self.send(request).await
    }
}

/// A file to send: its length and its bytes as a stream of chunks.
pub struct Upload {
    pub len: u64,
    pub chunks: std::pin::Pin<Box<dyn Stream<Item = Bytes> + Send>>,
}

impl Upload {
    /// `len` bytes cut from `pattern` repeated (clones of one buffer, never copies).
    pub fn repeating(pattern: Bytes, len: u64, chunk: usize) -> Self {
        let chunk = chunk.min(pattern.len()) as u64;
        let chunks = stream::unfold(0u64, move |sent| {
            let pattern = pattern.clone();
            async move {
                (sent < len).then(|| {
                    let n = chunk.min(len - sent);
                    let start = (sent % (pattern.len() as u64 - n + 1)) as usize;
                    (pattern.slice(start..start + n as usize), sent + n)
                })
            }
        });
        Self { len, chunks: Box::pin(chunks) }
    }

    pub fn bytes(bytes: Bytes) -> Self {
        Self { len: bytes.len() as u64, chunks: Box::pin(stream::once(async move { bytes })) }
    }
}

/// An upload's JSON answer: its id.
pub async fn accepted_id(response: Response<Incoming>) -> Result<String, Error> {
    let status = response.status();
    let body = text(response).await;
    if status != StatusCode::ACCEPTED {
        return Err(format!("upload answered {status}: {body}").into());
    }
    let upload: serde_json::Value = serde_json::from_str(&body)?;
    upload["id"].as_str().map(str::to_owned).ok_or_else(|| "an upload without an id".into())
}

pub async fn text(response: Response<Incoming>) -> String {
    match response.into_body().collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(error) => format!("(body unreadable: {error})"),
    }
}

pub fn empty() -> Body {
    BodyExt::boxed_unsync(Empty::new())
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    BodyExt::boxed_unsync(Full::new(bytes.into()))
}

/// Bytes that do not compress or repeat within `len`: an xorshift sequence.
pub fn noise(len: usize) -> Bytes {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out.into()
}
