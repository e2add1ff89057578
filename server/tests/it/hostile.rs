//! Hostile input against a real server, from a table: each request gets its documented
//! status and `{code, message}` (never a 500 or a hang), and afterwards the server still
//! serves and a bystander upload is exactly as it was. Plus the per-account limits.

use crate::common;

use common::{multipart, post_file, Account, TestServer, BOUNDARY};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MAX_UPLOAD: u64 = 64 * 1024;

/// A request written byte for byte on its own connection; the response's status and
/// body. `half_close` ends the request body early by shutting the write side.
async fn raw(server: &TestServer, head: &str, body: &[u8], half_close: bool) -> (u16, Vec<u8>) {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head =
        head.replace("{host}", &server.addr.to_string()).replace("{cookie}", &server.user.cookie);
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    if half_close {
        socket.shutdown().await.unwrap();
    }
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let start = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |p| p + 4);
    (status, response[start..].to_vec())
}

/// The JSON error of a raw response (chunked or not).
fn error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let json = &text[text.find('{').unwrap_or(0)..=text.rfind('}').unwrap_or(0)];
    let value: Value = serde_json::from_str(json).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert!(value["message"].as_str().is_some_and(|m| !m.is_empty()), "{value}");
    value["code"].as_str().unwrap().to_owned()
}

fn post_head(content_type: &str, length: Option<usize>) -> String {
    let length = length.map(|n| format!("Content-Length: {n}\r\n")).unwrap_or_default();
    let chunked = if length.is_empty() { "Transfer-Encoding: chunked\r\n" } else { "" };
    format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {{host}}\r\nCookie: {{cookie}}\r\n\
         Content-Type: {content_type}\r\n{length}{chunked}Connection: close\r\n\r\n"
    )
}

fn get_head(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {{host}}\r\nCookie: {{cookie}}\r\n{extra}Connection: close\r\n\r\n"
    )
}

/// A body in HTTP/1.1 chunked encoding, 8 KiB per chunk.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(8192) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn part(name: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

fn form(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = parts.concat();
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// POSTs `body` to `/api/uploads` as `client`'s account.
async fn post_upload(
    client: &reqwest::Client,
    server: &TestServer,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let request = client.post(server.url("/api/uploads"));
    let request = request.header(reqwest::header::CONTENT_TYPE, content_type).body(body);
    request.send().await.unwrap()
}

struct Case {
    name: &'static str,
    head: String,
    body: Vec<u8>,
    half_close: bool,
    status: u16,
    code: &'static str,
}

fn case(name: &'static str, head: String, body: Vec<u8>, status: u16, code: &'static str) -> Case {
    Case { name, head, body, half_close: false, status, code }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_gets_its_documented_answer_and_harms_nothing() {
    let server = TestServer::start_with(|c| c.max_upload_bytes = MAX_UPLOAD).await;
    let bystander = post_file(&server.client, &server.base(), "keep.txt", b"untouched").await;
    let id = bystander["id"].as_str().unwrap().to_owned();
    // Finished before the barrage, so any later change to it would be the barrage's.
    let events = server.client.get(server.url(&format!("/api/uploads/{id}/events"))).send();
    common::read_sse(events.await.unwrap(), |_| false).await;
    let before = common::get_json(&server.client, server.url(&format!("/api/uploads/{id}"))).await;
    let form_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let valid = form(&[part("file", "a.txt", b"hello")]);
    let oversize = form(&[part("file", "big.bin", &vec![0u8; MAX_UPLOAD as usize + 1])]);
    let truncated = valid[..valid.len() - 12].to_vec();

    let mut cases = vec![
        case("not multipart", post_head("application/json", Some(2)), b"{}".to_vec(), 400, "invalid_multipart"),
        case("no boundary", post_head("multipart/form-data", Some(valid.len())), valid.clone(), 400, "invalid_multipart"),
        case(
            "garbage multipart",
            post_head(&form_type, Some(28)),
            b"this is not multipart at all".to_vec(),
            400,
            "invalid_multipart",
        ),
        case(
            "missing file part",
            post_head(&form_type, None),
            chunked(&form(&[part("document", "a.txt", b"hi")])),
            400,
            "missing_file",
        ),
        case(
            "two file parts",
            post_head(&form_type, None),
            chunked(&form(&[part("file", "one.txt", b"1"), part("file", "two.txt", b"2")])),
            400,
            "invalid_request",
        ),
        case("oversize, announced", post_head(&form_type, Some(oversize.len() + 100_000)), Vec::new(), 413, "payload_too_large"),
        case("oversize, chunked", post_head(&form_type, None), chunked(&oversize), 413, "payload_too_large"),
        case(
            "a huge form field",
            post_head(&form_type, None),
            chunked(&form(&[part("note", "", &vec![b'x'; 100_000]), part("file", "a.txt", b"a")])),
            400,
            "invalid_request",
        ),
        case(
            "64 KiB of preamble before the first part",
            post_head(&form_type, None),
            chunked(&[vec![b'p'; 64 * 1024], valid.clone()].concat()),
            400,
            "invalid_request",
        ),
        case(
            "a part's headers that never end",
            post_head(&form_type, None),
            chunked(format!("--{BOUNDARY}\r\nX-Filler: {}", "h".repeat(256 * 1024)).as_bytes()),
            400,
            "invalid_request",
        ),
        case(
            "client_ref with odd characters",
            post_head(&form_type, Some(valid.len())).replace("/api/uploads ", "/api/uploads?client_ref=a%3Bb "),
            valid.clone(),
            400,
            "invalid_request",
        ),
        case(
            "query that is not UTF-8",
            post_head(&form_type, Some(valid.len())).replace("/api/uploads ", "/api/uploads?client_ref=%FF "),
            valid.clone(),
            400,
            "invalid_request",
        ),
        case("id that is not an id", get_head("/api/uploads/not-an-id", ""), Vec::new(), 400, "invalid_id"),
        case("id with traversal", get_head("/api/uploads/..%2F..%2Fetc%2Fpasswd/file", ""), Vec::new(), 400, "invalid_id"),
        case("id that is not UTF-8", get_head("/api/uploads/%FF%FE/text", ""), Vec::new(), 400, "invalid_id"),
        case("id of 10,000 characters", get_head(&format!("/api/uploads/{}", "9".repeat(10_000)), ""), Vec::new(), 400, "invalid_id"),
        case("events of a bad id", get_head("/api/uploads/%00/events", ""), Vec::new(), 400, "invalid_id"),
        case("unknown upload", get_head("/api/uploads/0191c1d2-6b0e-7a3c-9f00-00000000dead", ""), Vec::new(), 404, "not_found"),
        case("unknown route", get_head("/api/nothing/here", ""), Vec::new(), 404, "not_found"),
        case(
            "wrong method",
            get_head(&format!("/api/uploads/{id}/file"), "").replace("GET ", "PUT "),
            Vec::new(),
            405,
            "invalid_request",
        ),
        case(
            "login with a body that is not JSON",
            "POST /api/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 9\r\nConnection: close\r\n\r\n".into(),
            b"username=".to_vec(),
            400,
            "invalid_request",
        ),
    ];
    let long_name =
        format!("{{\"username\":\"{}\",\"password\":\"password1\"}}", "u".repeat(10_000));
    cases.push(case(
        "register with a 10,000-character name",
        format!(
            "POST /api/auth/register HTTP/1.1\r\nHost: {{host}}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            long_name.len()
        ),
        long_name.into_bytes(),
        400,
        "invalid_request",
    ));
    let mut short = case(
        "truncated body",
        post_head(&form_type, Some(valid.len())),
        truncated,
        400,
        "upload_aborted",
    );
    short.half_close = true;
    cases.push(short);

    for case in cases {
        let (status, body) = raw(&server, &case.head, &case.body, case.half_close).await;
        assert_eq!(status, case.status, "{}: {}", case.name, String::from_utf8_lossy(&body));
        assert_eq!(error_code(&body), case.code, "{}", case.name);
    }

    // A garbage Last-Event-ID is "start from the present": a snapshot, then live.
    for garbage in ["abc", "-1", "99999999999999999999999", "1e3", " ", "0x10", "1.5"] {
        let stream = server
            .client
            .get(server.url(&format!("/api/uploads/{id}/events")))
            .header("Last-Event-ID", garbage)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200, "{garbage:?}");
        let events = common::read_sse(stream, |_| false).await;
        let named = common::named(&events);
        assert_eq!(named.len(), 1, "{garbage:?}: the snapshot, which is the upload's `done`");
        assert_eq!(named[0].name(), "done");
    }

    // Still serving, and the bystander is exactly as it was.
    assert_eq!(server.client.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    let after = common::get_json(&server.client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(after, before);
    let file =
        server.client.get(server.url(&format!("/api/uploads/{id}/file"))).send().await.unwrap();
    assert_eq!(file.bytes().await.unwrap(), &b"untouched"[..]);
    // Nothing the hostile requests announced is left arriving or queued.
    let uploads = server.state.repo.list(&server.user.id).await.unwrap();
    assert!(uploads
        .iter()
        .all(|u| u.id.as_str() == id || u.status == shared::UploadStatus::Failed));
}

#[tokio::test]
async fn hostile_filenames_are_stored_safely_and_served_back_encoded() {
    let server = TestServer::start().await;
    let long = "n".repeat(10_000);
    let names = [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\evil.exe", "evil.exe"),
        ("a\tb.txt", "ab.txt"),
        ("evil\u{202E}fdp.exe", "evilfdp.exe"),
        ("..", "upload"),
        ("résumé final.pdf", "résumé final.pdf"),
        (long.as_str(), &long[..255]),
    ];
    for (raw_name, stored) in names {
        let (content_type, body) = multipart("file", raw_name, b"bytes");
        let created = post_upload(&server.client, &server, &content_type, body).await;
        assert_eq!(created.status(), StatusCode::ACCEPTED, "{raw_name:.40}");
        let upload: Value = created.json().await.unwrap();
        assert_eq!(upload["filename"], stored, "{raw_name:.40}");
        let id = upload["id"].as_str().unwrap();

        let file =
            server.client.get(server.url(&format!("/api/uploads/{id}/file"))).send().await.unwrap();
        let disposition = file.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\""), "{disposition:.80}");
        let encoded = disposition.split("filename*=UTF-8''").nth(1).unwrap();
        assert_eq!(percent_decode(encoded), stored, "the exact name comes back");
        assert_eq!(file.headers()["x-content-type-options"], "nosniff");
        assert_eq!(file.bytes().await.unwrap(), &b"bytes"[..]);
    }
    // Only ids are ever paths: nothing was written outside the blob store's own names.
    let originals = server.dir.path().join("blobs").join("originals");
    for entry in std::fs::read_dir(originals).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(shared::UploadId::parse(&name).is_some(), "{name}");
    }
    assert!(!server.dir.path().join("etc").exists());
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_has_its_own_byte_quota_and_uploads_in_flight() {
    let server = TestServer::start_with(|c| {
        c.user_quota_bytes = 10_000;
        c.user_max_in_flight = 1;
    })
    .await;
    let alice = &server.client;
    let kept = post_file(alice, &server.base(), "six.bin", &[6u8; 6_000]).await;

    // Announced by Content-Length: refused before anything is stored.
    let (content_type, body) = multipart("file", "nine.bin", &[9u8; 9_000]);
    let refused = post_upload(alice, &server, &content_type, body.clone()).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], "quota_exceeded");
    assert_eq!(server.state.repo.list(&server.user.id).await.unwrap().len(), 1);

    // Unannounced (chunked): refused as the bytes pass the quota; the upload fails with
    // the same code and its partial bytes are gone.
    let stream = futures_util::stream::iter(
        body.chunks(1024).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
    );
    let refused =
        post_upload(alice, &server, &content_type, reqwest::Body::wrap_stream(stream)).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let list = server.state.repo.list(&server.user.id).await.unwrap();
    assert_eq!(
        (list[0].status, list[0].error.as_ref().unwrap().code),
        (shared::UploadStatus::Failed, shared::ErrorCode::QuotaExceeded)
    );
    assert_eq!(std::fs::read_dir(server.dir.path().join("blobs").join("tmp")).unwrap().count(), 0);

    // Another account is not affected by Alice's usage.
    let bob = Account::register(&server.base(), "bob").await;
    post_file(&bob.client, &server.base(), "nine.bin", &[9u8; 9_000]).await;

    // Deleting frees the space.
    let id = kept["id"].as_str().unwrap();
    assert_eq!(
        alice.delete(server.url(&format!("/api/uploads/{id}"))).send().await.unwrap().status(),
        204
    );
    post_file(alice, &server.base(), "nine.bin", &[9u8; 9_000]).await;

    // One upload in flight at a time: a second one, while the first is still arriving,
    // is refused with 429; once the first is done, the next is accepted.
    let (sending, receiving) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let (content_type, body) = multipart("file", "slow.bin", b"slow");
    let first = tokio::spawn({
        let (client, url, content_type) =
            (alice.clone(), server.url("/api/uploads"), content_type.clone());
        async move {
            let chunks = futures_util::stream::unfold(receiving, |mut receiving| async move {
                receiving.recv().await.map(|chunk| (chunk, receiving))
            });
            let body = reqwest::Body::wrap_stream(chunks);
            client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    });
    sending.send(Ok(body[..body.len() - 10].to_vec())).await.unwrap();
    // Wait until the server has announced it (it is then in flight).
    let mut events =
        common::SseReader::new(alice.get(server.url("/api/events")).send().await.unwrap());
    events.until(|e| e.data.contains("slow.bin")).await;
    let second = post_upload(alice, &server, &content_type, body.clone()).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.json::<Value>().await.unwrap()["code"], "too_many_uploads");
    sending.send(Ok(body[body.len() - 10..].to_vec())).await.unwrap();
    drop(sending);
    assert_eq!(first.await.unwrap().status(), 202);
    post_file(alice, &server.base(), "next.bin", b"next").await;
}
