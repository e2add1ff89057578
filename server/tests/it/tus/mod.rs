//! tus 1.0 through a real server, request by request as the protocol text puts them:
//! capabilities, creation with metadata, HEAD and PATCH with their headers and
//! refusals, a PATCH that breaks off keeping what arrived, the upload then processed
//! like any other, and another account seeing nothing.

use crate::common;

use common::{Account, TestServer};
use reqwest::{header, Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OFFSET_STREAM: &str = "application/offset+octet-stream";

fn text(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

async fn create(client: &reqwest::Client, server: &TestServer, length: usize) -> String {
    let created = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string())
        // "słońce" and text/plain, as the protocol's clients encode them.
        .header("upload-metadata", "filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,flag")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    text(&created, "location").expect("a Location")
}

/// The upload id at the end of a tus Location.
fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_owned()
}

/// Reads `events` until upload `id` is done; bounded, so that an upload never finished
/// fails the test instead of hanging it.
async fn until_done(events: &mut common::SseReader, id: &str) -> Vec<common::Sse> {
    let done = events.until(|e| e.name() == "done" && e.json()["upload_id"] == id);
    let done = tokio::time::timeout(std::time::Duration::from_secs(20), done).await;
    done.unwrap_or_else(|_| panic!("upload {id} was never queued and processed"))
}

/// Upload `id` stored exactly `data`, every byte once.
async fn assert_stored(client: &reqwest::Client, server: &TestServer, id: &str, data: &[u8]) {
    let upload = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["sha256"], hex::encode(Sha256::digest(data)), "every byte once");
}

async fn patch(
    client: &reqwest::Client,
    server: &TestServer,
    location: &str,
    offset: usize,
    body: &[u8],
) -> reqwest::Response {
    client
        .patch(server.url(location))
        .header(TUS.0, TUS.1)
        .header("upload-offset", offset.to_string())
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_in_pieces_answers_as_the_protocol_says_and_is_processed_once() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;

    // Capabilities, without Tus-Resumable on the answer.
    let options = client.request(Method::OPTIONS, server.url("/api/tus")).send().await.unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&options, "tus-version").as_deref(), Some("1.0.0"));
    let extensions = text(&options, "tus-extension").unwrap();
    for extension in
        ["creation", "creation-with-upload", "creation-defer-length", "expiration", "termination"]
    {
        assert!(extensions.split(',').any(|e| e == extension), "{extension} in {extensions}");
    }
    assert_eq!(text(&options, "tus-max-size"), Some((1u64 << 30).to_string()));
    assert_eq!(text(&options, "tus-resumable"), None);

    // Another version is refused with the one there is.
    let other =
        client.post(server.url("/api/tus")).header(TUS.0, "0.2.2").header("upload-length", "1");
    let other = other.send().await.unwrap();
    assert_eq!(other.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(text(&other, "tus-version").as_deref(), Some("1.0.0"));

    let data = bytes(300_000);
    let location = create(client, &server, data.len()).await;
    let id = id_of(&location);

    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("0"));
    assert_eq!(text(&head, "upload-length").as_deref(), Some("300000"));
    assert_eq!(text(&head, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(text(&head, "tus-resumable").as_deref(), Some("1.0.0"));
    assert_eq!(
        text(&head, "upload-metadata").as_deref(),
        Some("filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,flag")
    );
    assert!(text(&head, "upload-expires").is_some_and(|at| at.ends_with(" GMT")));

    let first = patch(client, &server, &location, 0, &data[..100_000]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&first, "upload-offset").as_deref(), Some("100000"));
    // Not the current offset: 409, nothing written.
    let stale = patch(client, &server, &location, 0, &data[..10]).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    // Not an offset stream: 415.
    let wrong = client.patch(server.url(&location)).header(TUS.0, TUS.1);
    let wrong = wrong.header("upload-offset", "100000").body("x").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Another account: 404, and no offset.
    let bob = Account::register(&server.url(""), "bob").await;
    let theirs = bob.client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(text(&theirs, "upload-offset"), None);

    let last = patch(client, &server, &location, 100_000, &data[100_000..]).await;
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&last, "upload-offset").as_deref(), Some("300000"));

    // Stored, hashed and processed once, named as its metadata said.
    let done = until_done(&mut events, &id).await;
    let received: Vec<u64> = done
        .iter()
        .filter(|e| e.json()["upload_id"] == id.as_str() && e.json()["status"] == "uploading")
        .filter_map(|e| e.json()["bytes_received"].as_u64())
        .collect();
    assert!(
        received.windows(2).all(|w| w[0] <= w[1]) && received.contains(&100_000),
        "{received:?}"
    );
    let validations = done.iter().filter(|e| e.json()["stage"] == "validating").count();
    assert_eq!(validations, 2, "one job: its validating stage begins and ends once");
    let upload = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["filename"], "słońce");
    assert_eq!(upload["size"], 300_000);
    assert_eq!(upload["sha256"], hex::encode(Sha256::digest(&data)));
    assert_eq!((upload["status"].as_str(), upload["attempt"].as_u64()), (Some("done"), Some(1)));
    let again = patch(client, &server, &location, 300_000, b"more").await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "a complete upload takes no more");
}

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
async fn termination_cancels_the_upload_and_its_bytes_go() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let location = create(client, &server, 1000).await;
    assert_eq!(
        patch(client, &server, &location, 0, &bytes(400)).await.status(),
        StatusCode::NO_CONTENT
    );
    let deleted = client.delete(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let id = id_of(&location);
    let upload: Value = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["status"], "cancelled");
    let after = patch(client, &server, &location, 400, &bytes(600)).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND, "a terminated upload is gone");
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_checksummed_patch_counts_only_if_its_bytes_match() {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let server = TestServer::start().await;
    let client = &server.user.client;
    let data = bytes(3000);
    let location = create(client, &server, data.len()).await;
    let checked = |offset: usize, body: &[u8], checksum: String| {
        client
            .patch(server.url(&location))
            .header(TUS.0, TUS.1)
            .header("upload-offset", offset.to_string())
            .header(header::CONTENT_TYPE, OFFSET_STREAM)
            .header("upload-checksum", checksum)
            .body(body.to_vec())
            .send()
    };
    let sha1 = |bytes: &[u8]| STANDARD.encode(<sha1::Sha1 as Digest>::digest(bytes));
    let md5 = |bytes: &[u8]| STANDARD.encode(<md5::Md5 as Digest>::digest(bytes));

    let good = checked(0, &data[..1000], format!("sha1 {}", sha1(&data[..1000]))).await.unwrap();
    assert_eq!(good.status(), StatusCode::NO_CONTENT);
    // The digest of other bytes: 460, and the chunk is gone.
    let bad = checked(1000, &data[1000..2000], format!("md5 {}", md5(b"other"))).await.unwrap();
    assert_eq!(bad.status().as_u16(), 460);
    assert_eq!(bad.json::<Value>().await.unwrap()["code"], "checksum_mismatch");
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("1000"));
    // An algorithm the server does not compute: 400.
    let unknown = checked(1000, &data[1000..2000], "crc32 AAAAAA==".into()).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let sha256 = STANDARD.encode(Sha256::digest(&data[1000..]));
    let rest = checked(1000, &data[1000..], format!("sha256 {sha256}")).await.unwrap();
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&rest, "upload-offset").as_deref(), Some("3000"));
    let options = client.request(Method::OPTIONS, server.url("/api/tus")).send().await.unwrap();
    assert_eq!(text(&options, "tus-checksum-algorithm").as_deref(), Some("sha1,sha256,md5"));
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
async fn an_upload_left_unfinished_past_its_expiry_answers_404_and_is_removed() {
    // Expired as soon as it is made, so nothing waits on the clock.
    let server = TestServer::start_with(|c| c.tus_expiry = std::time::Duration::ZERO).await;
    let client = &server.user.client;
    let location = create(client, &server, 1000).await;
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(text(&head, "upload-offset"), None);
    let removed = uplink::uploads::resumable::remove_expired(&server.state.uploads).await.unwrap();
    assert_eq!(removed, 1);
    let listed = common::get_json(client, server.url("/api/uploads")).await;
    assert_eq!(listed, serde_json::json!([]), "gone, bytes and all");
}

#[tokio::test]
async fn bytes_with_the_creation_a_deferred_length_and_a_method_override() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;

    // creation-with-upload: the whole file with its creation.
    let data = bytes(500);
    let created = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", "500")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(text(&created, "upload-offset").as_deref(), Some("500"));
    let whole = text(&created, "location").unwrap();
    let whole = id_of(&whole);
    until_done(&mut events, &whole).await;

    // creation-defer-length: the length comes with the bytes, through a POST that
    // overrides its method, as clients that can only POST send it.
    let deferred = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-defer-length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(deferred.status(), StatusCode::CREATED);
    let location = text(&deferred, "location").unwrap();
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-defer-length").as_deref(), Some("1"));
    assert_eq!(text(&head, "upload-length"), None);
    let sent = client
        .post(server.url(&location))
        .header(TUS.0, TUS.1)
        .header("x-http-method-override", "PATCH")
        .header("upload-offset", "0")
        .header("upload-length", "10")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(b"ten bytes!".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&sent, "upload-length").as_deref(), Some("10"));
    let id = id_of(&location);
    until_done(&mut events, &id).await;
}

#[tokio::test]
async fn lengths_are_kept_to_and_an_empty_file_is_done_at_once() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;

    // An empty file has all its bytes with its creation.
    let empty = create(client, &server, 0).await;
    let empty = id_of(&empty);
    until_done(&mut events, &empty).await;

    let location = create(client, &server, 100).await;
    // More than the length, announced: refused before a byte is stored.
    let over = patch(client, &server, &location, 0, &bytes(101)).await;
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Another length than the one promised: 400.
    let other = client
        .patch(server.url(&location))
        .header(TUS.0, TUS.1)
        .header("upload-offset", "0")
        .header("upload-length", "99")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(bytes(10))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("0"), "nothing stored");
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

#[tokio::test]
async fn malformed_tus_headers_get_a_json_400() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let post = |headers: &[(&str, &str)]| {
        let mut request = client.post(server.url("/api/tus")).header(TUS.0, TUS.1);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("upload-length", "12"), ("upload-metadata", "filename !!!")][..],
        &[("upload-length", "-1")][..],
        &[][..],
        &[("upload-defer-length", "2")][..],
    ] {
        let refused = post(headers).await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{headers:?}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["code"], "invalid_request", "{headers:?}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let location = create(client, &server, 10).await;
    let no_offset = client
        .patch(server.url(&location))
        .header(TUS.0, TUS.1)
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(bytes(10))
        .send()
        .await
        .unwrap();
    assert_eq!(no_offset.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_offset.json::<Value>().await.unwrap()["code"], "invalid_request");
    let version = client.head(server.url(&location)).send().await.unwrap();
    assert_eq!(version.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(version.headers()["tus-version"], "1.0.0");
}
