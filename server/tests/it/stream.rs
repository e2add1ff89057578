//! A real listener and a real HTTP client: upload streams, replay, abandoned uploads.

use crate::common;

use std::collections::BTreeSet;

use common::{
    assert_ordered, multipart, named, post_file, post_streaming, read_sse, Sse, SseReader,
    TestServer,
};
use reqwest::header;
use testkit::pdf as fixtures;
use tokio::io::AsyncWriteExt;

/// Checks the invariants of one upload's stream and returns its named events.
fn check_upload_stream(events: &[Sse]) -> Vec<&Sse> {
    assert_eq!(events.first().and_then(|e| e.retry), Some(2000), "retry comes first");
    let named = named(events);
    assert_ordered(&named);
    let terminal = named.iter().filter(|e| e.name() != "progress").count();
    assert_eq!(terminal, 1, "exactly one terminal event");
    assert_ne!(named.last().unwrap().name(), "progress", "the stream ends at its terminal event");
    named
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_uploaded_with_accept_event_stream_streams_to_done_one_event_per_page() {
    let server = TestServer::start().await;
    let pages = 12;
    let response =
        post_streaming(&server.client, &server.base(), "twelve.pdf", &fixtures::pdf(pages)).await;
    let events = read_sse(response, |_| false).await;
    let named = check_upload_stream(&events);

    let page_events: Vec<u64> = named
        .iter()
        .filter(|e| e.name() == "progress" && e.json()["stage"] == "extracting")
        .filter_map(|e| e.json()["page"].as_u64())
        .collect();
    assert_eq!(
        page_events,
        (1..=u64::from(pages)).collect::<Vec<_>>(),
        "one event per page, in order"
    );
    assert!(named.iter().filter(|e| e.name() == "progress").all(|e| {
        let j = e.json();
        [
            "upload_id",
            "status",
            "stage",
            "percent",
            "bytes_received",
            "bytes_total",
            "page",
            "pages",
            "message",
            "at",
        ]
        .iter()
        .all(|k| j.get(k).is_some())
    }));
    let first = named.first().unwrap().json();
    assert_eq!(first["status"], "uploading");
    let done = named.last().unwrap().json();
    assert_eq!(done["upload"]["status"], "done");
    assert_eq!(done["upload"]["pages"], pages);
    assert_eq!(done["upload"]["percent"], 100);
    let at = done["at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.len() == "2026-11-21T10:00:00.123Z".len(), "{at}");

    // A client replaying the upload's history afterwards sees exactly the same events.
    let id = done["upload_id"].as_str().unwrap();
    let replay = server
        .client
        .get(server.url(&format!("/api/uploads/{id}/events")))
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    let replayed = read_sse(replay, |_| false).await;
    assert_eq!(named, named_owned(&replayed).iter().collect::<Vec<_>>());

    // Resuming from the middle gives exactly the rest.
    let middle = named[named.len() / 2].id.unwrap();
    let resumed = server
        .client
        .get(server.url(&format!("/api/uploads/{id}/events?last_event_id={middle}")))
        .send()
        .await
        .unwrap();
    let resumed = read_sse(resumed, |_| false).await;
    let rest: Vec<&Sse> = named.iter().copied().filter(|e| e.id.unwrap() > middle).collect();
    assert_eq!(named_owned(&resumed).iter().collect::<Vec<_>>(), rest);

    // An id from the future (another server's log) gets the present state instead.
    let future = named.last().unwrap().id.unwrap() + 1000;
    let snapshot = server
        .client
        .get(server.url(&format!("/api/uploads/{id}/events")))
        .header("Last-Event-ID", future.to_string())
        .send()
        .await
        .unwrap();
    let snapshot = named_owned(&read_sse(snapshot, |_| false).await);
    assert_eq!(snapshot.len(), 1);
    assert_eq!((snapshot[0].name(), snapshot[0].id), ("done", named.last().unwrap().id));
}

fn named_owned(events: &[Sse]) -> Vec<Sse> {
    named(events).into_iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_and_encrypted_pdfs_fail_their_own_uploads_and_nothing_else() {
    let server = TestServer::start().await;
    let good_pdf = fixtures::pdf(2);
    let base = server.base();
    let good = post_streaming(&server.client, &base, "good.pdf", &good_pdf);
    let bad = post_streaming(&server.client, &base, "bad.pdf", b"%PDF-1.7\nnot a pdf at all");
    let locked = post_streaming(
        &server.client,
        &base,
        "locked.pdf",
        include_bytes!("../fixtures/encrypted-aes256.pdf"),
    );
    let (good, bad, locked) = tokio::join!(good, bad, locked);
    let (good, bad, locked) = tokio::join!(
        read_sse(good, |_| false),
        read_sse(bad, |_| false),
        read_sse(locked, |_| false)
    );

    let locked = check_upload_stream(&locked);
    assert_eq!(locked.last().unwrap().json()["code"], "encrypted");

    let bad = check_upload_stream(&bad);
    let error = bad.last().unwrap();
    assert_eq!(error.name(), "error");
    assert_eq!(error.json()["code"], "corrupt");
    assert!(error.json()["message"].as_str().unwrap().contains("damaged"));

    assert_eq!(check_upload_stream(&good).last().unwrap().name(), "done");
    let health = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_all_uploads_stream_carries_new_uploads_live_with_keep_alives() {
    let server =
        TestServer::start_with(|c| c.sse_keepalive = std::time::Duration::from_secs(1)).await;
    let subscriber = server.client.get(server.url("/api/events")).send().await.unwrap();
    assert_eq!(subscriber.headers()[header::CONTENT_TYPE], "text/event-stream");

    let mut uploads = BTreeSet::new();
    let mut keep_alives = 0;
    let events = {
        let reading = tokio::spawn(read_sse(subscriber, move |e| {
            if e.comment {
                keep_alives += 1;
            }
            if e.name() == "done" {
                uploads.insert(e.json()["upload_id"].as_str().unwrap().to_owned());
            }
            // Both uploads done, and proof that idle streams get keep-alives.
            uploads.len() == 2 && keep_alives > 0
        }));
        for (name, bytes) in [("one.pdf", fixtures::pdf(3)), ("two.txt", b"two".to_vec())] {
            post_file(&server.client, &server.base(), name, &bytes).await;
        }
        reading.await.unwrap()
    };
    let named = named(&events);
    let ids: Vec<i64> = named.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(events.iter().any(|e| e.comment));
    let pages: Vec<u64> = named
        .iter()
        .filter(|e| e.name() == "progress" && e.json()["stage"] == "extracting")
        .filter_map(|e| e.json()["page"].as_u64())
        .collect();
    assert_eq!(pages, [1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_upload_is_marked_failed_and_its_bytes_removed() {
    let server = TestServer::start().await;
    let mut subscriber =
        SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());

    // Promise a large body, send a little, then hang up.
    let (content_type, body) = multipart("file", "half.bin", &vec![1u8; 1 << 20]);
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        server.user.cookie,
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body[..64 * 1024]).await.unwrap();
    socket.flush().await.unwrap();
    // The server announces the upload as it starts receiving it; then the client goes.
    let started = subscriber.until(|e| e.name() == "progress").await;
    assert_eq!(started.last().unwrap().json()["status"], "uploading");
    drop(socket);

    let events = subscriber.until(|e| e.name() == "error").await;
    let error = events.last().unwrap().json();
    assert_eq!(error["code"], "upload_aborted");
    let id = error["upload_id"].as_str().unwrap();
    let upload = common::get_json(&server.client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["status"], "failed");
    let blobs = server.dir.path().join("blobs");
    assert!(!blobs.join("originals").join(id).exists());
    assert_eq!(std::fs::read_dir(blobs.join("tmp")).unwrap().count(), 0, "no partial file left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_ends_when_the_server_shuts_down() {
    let mut server = TestServer::start().await;
    post_file(&server.client, &server.base(), "kept.txt", b"kept").await;

    let mut all =
        SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());
    // The snapshot has arrived: the stream is established and now idle.
    all.until(|e| e.event.is_some()).await;

    // Graceful shutdown can only finish once the open stream has ended by itself; the
    // time limit only turns a hang into a failure.
    let ended = async {
        server.shut_down().await;
        all.until(|_| false).await;
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), ended)
        .await
        .expect("the stream ended and the server stopped");
    assert!(server.client.get(server.url("/healthz")).send().await.is_err(), "no longer listening");
}

#[tokio::test]
async fn an_upload_refused_part_way_through_its_body_still_gets_its_answer() {
    let server = TestServer::start_with(|c| c.allowed_types = ".pdf".into()).await;
    // Refused at the part's headers, with far more to come than the sockets' buffers
    // hold. The client, like most, sends the whole body before it reads the answer: a
    // server that stopped reading would reset the connection under it.
    let (content_type, body) = multipart("file", "tool.exe", &vec![b'x'; 32 << 20]);
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = common::upload_head(&server, &content_type, body.len());
    let head = head.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body).await.expect("the server reads the rest of the body");
    let answer = common::raw::read_until_closed(&mut socket).await;
    let (status, error) = common::raw::status_and_json(&answer);
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(error["code"], "unsupported_type", "{error}");
}
