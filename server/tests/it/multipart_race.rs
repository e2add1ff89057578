//! No complete upload is ever refused: thousands of uploads over raw sockets, each
//! writing its request head, pausing a random 0–500 µs, then its body, with two threads
//! keeping both cores busy beside them. The pause lands the body, now and then, between
//! the multipart parser's two polls for its first boundary, where multer 3.1.0 used to
//! refuse a complete body with `400 invalid_multipart` (`uploads/form.rs`); the busy
//! threads make those moments far more frequent than an idle machine would.

use crate::common;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use common::{multipart, TestServer};

const UPLOADS: usize = 5000;
const CLIENTS: usize = 8;

/// A tiny xorshift: the pauses need only be spread, not unpredictable.
struct Pauses(u64);

impl Pauses {
    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_micros(self.0 % 501)
    }
}

/// One upload on its own connection; its status and the answer's body.
fn upload(
    addr: SocketAddr,
    cookie: &str,
    body: &[u8],
    content_type: &str,
    pause: Duration,
) -> (u16, String) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_nodelay(true).unwrap();
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(pause);
    socket.write_all(body).unwrap();
    let mut response = Vec::new();
    socket.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_uploads_with_their_bodies_late_are_all_accepted() {
    let server = TestServer::start_with(|c| {
        c.user_max_in_flight = CLIENTS as u32 * 2;
        c.user_quota_bytes = 0;
        c.workers = Some(1);
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut spins = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    spins = std::hint::black_box(spins.wrapping_add(1));
                }
            })
        })
        .collect();

    let (content_type, body) = multipart("file", "note.txt", &[b'u'; 1024]);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (addr, cookie) = (server.addr, server.user.cookie.clone());
            let (content_type, body) = (content_type.clone(), body.clone());
            tokio::task::spawn_blocking(move || {
                let mut pauses = Pauses(0x9E37_79B9_7F4A_7C15 ^ (client as u64 + 1));
                let mut refused = Vec::new();
                for _ in 0..UPLOADS / CLIENTS {
                    let (status, text) = upload(addr, &cookie, &body, &content_type, pauses.next());
                    if status != 202 {
                        refused.push(text);
                    }
                }
                refused
            })
        })
        .collect();
    let mut refused = Vec::new();
    for client in clients {
        refused.extend(client.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    for thread in busy {
        thread.join().unwrap();
    }
    assert!(
        refused.is_empty(),
        "{} of {UPLOADS} complete uploads refused; the first: {}",
        refused.len(),
        refused[0]
    );
    let listed = common::get_json(&server.client, server.url("/api/uploads")).await;
    assert_eq!(listed.as_array().unwrap().len(), UPLOADS, "every upload was stored once");
}
