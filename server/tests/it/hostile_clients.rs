//! Slow and hostile clients against a real listener: connections that never finish their
//! headers, connections past the caps, too many event streams, and an upload that
//! trickles. Each slows or stops only itself, and an ordinary client is served meanwhile.

use crate::common;

use std::time::Duration;

use common::{
    post_file,
    raw::{connect_from, read_until_closed, status_and_json},
    TestServer,
};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{timeout, Instant},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_their_headers_are_closed_while_others_are_served() {
    const HOSTILE: usize = 2000;
    // Long enough for 2,000 connects and an upload on two busy cores.
    const HEADER_TIMEOUT: Duration = Duration::from_secs(6);
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let server = TestServer::start_with(|c| c.header_timeout = HEADER_TIMEOUT).await;

    // From eight addresses, 250 each: under the per-client cap, so all are held.
    let mut hostile = Vec::with_capacity(HOSTILE);
    for i in 0..HOSTILE {
        // Taken before connecting: the server's clock for it cannot start any earlier.
        let opened = Instant::now();
        let mut socket = connect_from(2 + (i % 8) as u8, server.addr).await;
        socket.write_all(b"GET /api/events HTTP/1.1\r\nHost: uplink\r\nX-Never: ").await.unwrap();
        hostile.push((socket, opened));
    }
    // A keep-alive connection that goes quiet after one request.
    let mut idle = connect_from(10, server.addr).await;
    let idle_since = Instant::now();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: uplink\r\n\r\n").await.unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    // Meanwhile an ordinary client streams its events and uploads.
    let mut events = common::account_events(&server).await;
    let upload = post_file(&server.client, &server.base(), "ordinary.txt", b"served").await;
    let id = upload["id"].as_str().unwrap().to_owned();
    let done = events
        .until(|e| e.name() == "done" && e.json()["upload_id"].as_str() == Some(id.as_str()))
        .await;
    assert_eq!(done.last().unwrap().name(), "done", "the ordinary upload finished");
    assert!(
        server.state.admission.open() > HOSTILE,
        "the hostile connections were still held while the ordinary client was served"
    );

    // Every one of them is closed once the header timeout has passed, and not before:
    // all watched at once, each close timed as it happens.
    let closes = hostile.into_iter().map(|(mut socket, opened)| async move {
        let answer = read_until_closed(&mut socket).await;
        (answer.len(), opened.elapsed())
    });
    let closes = timeout(HEADER_TIMEOUT * 4, futures_util::future::join_all(closes)).await;
    for (answered, after) in closes.expect("all closed by the server") {
        assert_eq!(answered, 0, "nothing is answered");
        assert!(after >= HEADER_TIMEOUT, "closed after {after:?}, before the timeout");
    }
    let closed = timeout(HEADER_TIMEOUT * 4, read_until_closed(&mut idle)).await;
    closed.expect("an idle keep-alive connection is closed too");
    assert!(idle_since.elapsed() >= HEADER_TIMEOUT);
    assert_eq!(server.client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn past_the_connection_caps_new_connections_are_answered_503_and_counted() {
    const PER_CLIENT: u32 = 4;
    const TOTAL: usize = 12;
    let server = TestServer::start_with(|c| {
        c.max_connections = Some(TOTAL);
        c.max_connections_per_client = PER_CLIENT;
    })
    .await;
    // The registration's pooled connection is open already.
    let already = server.state.admission.open();

    // One client's connections up to its cap are held (they are waiting for headers).
    let mut held = Vec::new();
    for _ in 0..PER_CLIENT {
        held.push(connect_from(2, server.addr).await);
    }
    let mut over = connect_from(2, server.addr).await;
    let answer = read_until_closed(&mut over).await;
    let (status, body) = status_and_json(&answer);
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")), "{body}");
    assert!(String::from_utf8_lossy(&answer).contains("retry-after: 1"));
    assert_eq!(server.state.admission.refused(), 1);

    // Other clients are served, up to the total.
    let mut admitted = Vec::new();
    let mut host = 3;
    loop {
        let mut socket = connect_from(host, server.addr).await;
        host += 1;
        socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: uplink\r\n\r\n").await.unwrap();
        let mut head = [0u8; 12];
        // A refused connection is answered and closed before its request is read, so the
        // request may meet a closed socket and the answer be lost to the reset.
        match socket.read_exact(&mut head).await {
            Ok(_) if &head == b"HTTP/1.1 200" => admitted.push(socket),
            Ok(_) => {
                assert_eq!(&head, b"HTTP/1.1 503");
                break;
            }
            // Reset: the refusal counter below tells it was one.
            Err(_) => break,
        }
    }
    assert_eq!(already + held.len() + admitted.len(), TOTAL, "admitted exactly up to the cap");
    assert_eq!(server.state.admission.refused(), 2);
}

#[tokio::test]
async fn an_account_and_a_token_cannot_open_more_event_streams_than_the_cap() {
    let server = TestServer::start_with(|c| c.user_max_streams = 3).await;
    // An upload still arriving, so that its own streams stay open.
    let id = "0191c1d2-6b0e-7a3c-9f00-00000000a11e";
    common::arriving(&server.state, server.user.id.as_str(), id).await;
    let token = common::events_token(&server.client, &server.base(), id).await;
    let by_token = || reqwest::get(server.url(token["events_url"].as_str().unwrap()));
    let mut open = Vec::new();
    for _ in 0..3 {
        let stream = server.client.get(server.url("/api/events")).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let over = server.client.get(server.url("/api/events")).send().await.unwrap();
    assert_eq!(over.status(), 429);
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["code"], "too_many_streams", "{body}");
    // An upload's own stream counts for the account too.
    let own = server.client.get(server.url(&format!("/api/uploads/{id}/events"))).send();
    assert_eq!(own.await.unwrap().status(), 429);
    // A token's streams have a cap of their own: whoever holds it cannot lock the account
    // out, nor open more than three.
    for _ in 0..3 {
        let stream = by_token().await.unwrap();
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let over = by_token().await.unwrap();
    assert_eq!(over.status(), 429);
    assert_eq!(over.json::<Value>().await.unwrap()["code"], "too_many_streams");
    // Other routes are not limited by it.
    assert_eq!(server.client.get(server.url("/api/uploads")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_upload_that_trickles_below_the_minimum_rate_is_abandoned() {
    let server = TestServer::start_with(|c| {
        c.upload_idle_timeout = Duration::from_secs(1);
        c.upload_min_rate = 1000;
    })
    .await;
    let mut events = common::account_events(&server).await;
    let (content_type, body) = common::multipart("file", "slow.bin", &[b's'; 100_000]);
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let head = common::upload_head(&server, &content_type, body.len());
    socket.write_all(head.as_bytes()).await.unwrap();
    // The form's head at once, then the file a byte every 50 ms (20 bytes/s) for 0.9 s:
    // the first window of waiting ends short, and nothing is being written when the
    // server answers (a write after it closes would reset the connection).
    let (start, rest) = body.split_at(200);
    let rest = rest[..18].to_vec();
    socket.write_all(start).await.unwrap();
    let started = Instant::now();
    let (mut reading, mut writing) = socket.into_split();
    let trickle = tokio::spawn(async move {
        for byte in rest {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writing.write_all(&[byte]).await.unwrap();
        }
        // Kept open: closing it would end the body, a different failure.
        writing
    });
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains('}') {
        // The bound only keeps an upload that is never cut off from hanging the test.
        let read = timeout(Duration::from_secs(30), reading.read(&mut buffer)).await;
        let n = read.expect("the trickle was cut off").unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buffer[..n]);
    }
    let _writing = trickle.await.unwrap();
    let (status, body) = status_and_json(&answer);
    assert_eq!((status, body["code"].as_str()), (400, Some("upload_aborted")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("below the minimum"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "cut off within a few windows");
    let failed = events.until(|e| e.name() == "error").await;
    assert_eq!(failed.last().unwrap().json()["code"], "upload_aborted");
}

#[tokio::test]
async fn any_request_body_that_stalls_is_cut_off() {
    let server = TestServer::start_with(|c| c.upload_idle_timeout = Duration::from_secs(1)).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let head =
        "POST /api/auth/login HTTP/1.1\r\nHost: uplink\r\nContent-Type: application/json\r\n\
                Content-Length: 60\r\n\r\n{\"username\":";
    socket.write_all(head.as_bytes()).await.unwrap();
    // Then nothing: the connection stays open, the body never comes.
    let answer = timeout(Duration::from_secs(30), read_until_closed(&mut socket)).await;
    let (status, body) = status_and_json(&answer.expect("the stalled body was cut off"));
    assert_eq!((status, body["code"].as_str()), (400, Some("upload_aborted")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("sent nothing"), "{body}");
}
