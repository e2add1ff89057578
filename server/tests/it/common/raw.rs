//! Clients below reqwest: raw sockets from chosen loopback addresses, answers read byte
//! for byte, and an SSE reader with a tiny receive buffer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde_json::Value;
use tokio::{
    io::AsyncReadExt,
    net::{TcpSocket, TcpStream},
};

use super::{Sse, SseParser};

/// A connection to `server` from the loopback address `127.0.0.<host>`, so tests can be
/// several clients at once.
pub async fn connect_from(host: u8, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0))).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads until the server closes the connection (a reset counts as closed).
pub async fn read_until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return answer,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
}

/// The status and JSON body of an answer read off a raw socket.
pub fn status_and_json(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let json = text.find("\r\n\r\n").map_or("", |at| &text[at + 4..]);
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

/// A client whose connections come from `127.0.0.<host>`.
pub fn client_from(host: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
        .build()
        .unwrap()
}

/// An SSE client on a raw socket with a tiny receive buffer, so that when it stops
/// reading the server's writes to it stall within a few kilobytes.
pub struct RawSse {
    socket: tokio::net::TcpStream,
    head: Option<Vec<u8>>,
    body: Dechunker,
    parser: SseParser,
    pending: std::collections::VecDeque<Sse>,
}

impl RawSse {
    /// Sends `GET path` with `cookie` and returns before reading anything.
    pub async fn connect(addr: SocketAddr, path: &str, cookie: &str) -> Self {
        use tokio::io::AsyncWriteExt;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut socket = socket.connect(addr).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.unwrap();
        Self {
            socket,
            head: Some(Vec::new()),
            body: Dechunker::default(),
            parser: SseParser::default(),
            pending: Default::default(),
        }
    }

    /// The next event or comment block, or `None` once the server closed the connection
    /// (an event cut off by the close is dropped, as an EventSource drops it).
    pub async fn next(&mut self) -> Option<Sse> {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let n = self.socket.read(&mut buffer).await.unwrap();
            if n == 0 {
                return None;
            }
            let bytes = match &mut self.head {
                Some(head) => {
                    head.extend_from_slice(&buffer[..n]);
                    let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(head));
                    let rest = head.split_off(end + 4);
                    self.head = None;
                    rest
                }
                None => buffer[..n].to_vec(),
            };
            let decoded = self.body.push(&bytes);
            self.pending.extend(self.parser.push(&decoded));
        }
    }
}

/// Decodes an HTTP/1.1 chunked body incrementally.
#[derive(Default)]
pub struct Dechunker {
    pending: Vec<u8>,
}

impl Dechunker {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(line_end) = self.pending.windows(2).position(|w| w == b"\r\n") else {
                return out;
            };
            let size = std::str::from_utf8(&self.pending[..line_end]).unwrap();
            let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
            let needed = line_end + 2 + size + 2;
            if self.pending.len() < needed {
                return out;
            }
            out.extend_from_slice(&self.pending[line_end + 2..line_end + 2 + size]);
            self.pending.drain(..needed);
        }
    }
}
