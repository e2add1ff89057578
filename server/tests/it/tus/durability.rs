//! What a resumable upload keeps: a PATCH that breaks off keeps every byte that
//! arrived, a request still holding an upload lets go, a restart loses nothing, and an
//! upload is completed and queued exactly once.

use super::*;

/// Starts a PATCH of all of `data` on a raw socket and sends its first `sent` bytes.
async fn start_patch(
    server: &TestServer,
    location: &str,
    data: &[u8],
    sent: usize,
) -> tokio::net::TcpStream {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: {OFFSET_STREAM}\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        server.user.cookie,
        data.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&data[..sent]).await.unwrap();
    socket
}

/// Reads `events` until upload `id` announces `bytes` received; bounded, so that a
/// server that never says so fails the test instead of hanging it.
async fn until_received(events: &mut common::SseReader, id: &str, at_least: u64) -> u64 {
    let seen = events.until(|e| {
        e.name() == "progress"
            && e.json()["upload_id"] == id
            && e.json()["bytes_received"].as_u64() >= Some(at_least)
    });
    let seen = tokio::time::timeout(std::time::Duration::from_secs(20), seen).await;
    let seen = seen.unwrap_or_else(|_| panic!("upload {id} never announced {at_least} bytes"));
    seen.last().unwrap().json()["bytes_received"].as_u64().unwrap()
}

#[tokio::test]
async fn a_patch_that_breaks_off_keeps_every_byte_that_arrived() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;
    let data = bytes(20 << 20);
    let location = create(client, &server, data.len()).await;
    let id = id_of(&location);

    // 12 MiB of the 20 go up, then the connection closes: past its last periodic sync
    // (8 MiB), the server keeps the rest too.
    let socket = start_patch(&server, &location, &data, 12 << 20).await;
    drop(socket);
    assert_eq!(until_received(&mut events, &id, 12 << 20).await, 12 << 20);
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset"), Some((12 << 20).to_string()));
    let rest = patch(client, &server, &location, 12 << 20, &data[12 << 20..]).await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    until_done(&mut events, &id).await;
    assert_stored(client, &server, &id, &data).await;
}

#[tokio::test]
async fn a_request_still_holding_an_upload_lets_go_when_its_client_comes_back() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;
    let data = bytes(20 << 20);
    let location = create(client, &server, data.len()).await;
    let id = id_of(&location);

    // A PATCH whose client went quiet without closing: the server still waits on it.
    let _stuck = start_patch(&server, &location, &data, 9 << 20).await;
    until_received(&mut events, &id, 8 << 20).await;
    // The client, back on another connection, asks where to go on: the quiet request
    // is told to stop and saves what it has, and HEAD answers at once with that (well
    // before the server's own idle timeout would have ended the quiet request).
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send();
    let head = tokio::time::timeout(std::time::Duration::from_secs(10), head).await;
    let head = head.expect("HEAD does not wait for the quiet request").unwrap();
    let offset: usize = text(&head, "upload-offset").unwrap().parse().unwrap();
    assert!((8 << 20..=9 << 20).contains(&offset), "{offset}");
    let rest = patch(client, &server, &location, offset, &data[offset..]).await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    until_done(&mut events, &id).await;
    assert_stored(client, &server, &id, &data).await;
}

#[tokio::test]
async fn a_resumable_upload_survives_a_restart_and_goes_on_from_its_offset() {
    let mut server = TestServer::start().await;
    let client = server.user.client.clone();
    let data = bytes(3000);
    let location = create(&client, &server, data.len()).await;
    assert_eq!(
        patch(&client, &server, &location, 0, &data[..1000]).await.status(),
        StatusCode::NO_CONTENT
    );
    server.shut_down().await;

    // The same data directory, served again; the session in the client's jar still holds.
    let again = common::state_in(&server.dir, |_| {}).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(uplink::run(listener, again, std::future::pending()));
    let url = |path: &str| format!("http://{addr}{path}");
    let head = client.head(url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("1000"), "not interrupted");
    let rest = client
        .patch(url(&location))
        .header(TUS.0, TUS.1)
        .header("upload-offset", "1000")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(data[1000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    let id = id_of(&location);
    let upload = common::get_json(&client, url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["sha256"], hex::encode(Sha256::digest(&data)));
    serving.abort();
}

#[tokio::test]
async fn an_upload_whose_bytes_all_arrived_but_was_not_queued_is_finished_by_the_next_request() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;
    let data = bytes(10);
    let location = create(client, &server, data.len()).await;
    let id = id_of(&location);
    // The server stopped after its last sync and announcement, before it queued the
    // upload: all the bytes are stored and the offset says so.
    let uploads = &server.state.uploads;
    let upload_id = shared::UploadId::parse(&id).unwrap();
    let mut appender = uploads.blobs.append(&upload_id, 0).await.unwrap();
    appender.write(&data).await.unwrap();
    assert_eq!(appender.sync().await.unwrap(), 10);
    let full = uplink::domain::Change { size: Some(10), ..Default::default() };
    uploads.recorder.record(&upload_id, full).await.unwrap();

    // The client asks where it stands: complete, and now on its way.
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("10"));
    until_done(&mut events, &id).await;
    assert_stored(client, &server, &id, &data).await;
}

#[tokio::test]
async fn a_patch_past_the_length_is_refused_but_the_bytes_it_completed_are_kept() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;
    let data = bytes(1000);
    let location = create(client, &server, data.len()).await;
    let id = id_of(&location);
    // Sent without a length (chunked), so the server learns it is too long only when
    // the byte after the last one comes.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(data.clone()), Ok(b"!".to_vec())];
    let over = client
        .patch(server.url(&location))
        .header(TUS.0, TUS.1)
        .header("upload-offset", "0")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    until_done(&mut events, &id).await;
    assert_stored(client, &server, &id, &data).await;
}
