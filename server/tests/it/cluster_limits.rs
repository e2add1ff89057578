//! Limits and holds span the cluster, not one node: two nodes on one PostgreSQL database
//! count together an account's uploads in flight, the bytes still arriving against its
//! quota, its event streams, and the login and registration attempts of a username or a
//! client; and one request at a time holds a resumable upload, whichever node it is on.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::common::{
    self, multipart, post_file,
    tus::{self, TUS},
    within, Account, SseReader, TestServer,
};
use uplink::{AppState, Config};

/// Two nodes on a fresh database, both configured by `configure`; alice is registered
/// on the first.
async fn two_nodes(configure: fn(&mut Config)) -> (TestServer, TestServer) {
    let url = testkit::postgres::fresh_database().await;
    let a_url = url.clone();
    let a = TestServer::start_with(move |c| {
        c.database_url = Some(a_url);
        c.node_id = Some("a".into());
        configure(c);
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(&dir, |c| {
        c.database_url = Some(url);
        c.node_id = Some("b".into());
        configure(c);
    });
    let blobs = std::sync::Arc::clone(&a.state.blobs);
    let state = AppState::open_with_blobs(config, common::leptos_options(), blobs).await.unwrap();
    let b = TestServer::join(dir, state, &a.user).await;
    (a, b)
}

/// An upload of `len` bytes to `server`, announced by its Content-Length and sent but
/// for its last 100 bytes (some of the file, and the form's closing boundary, after which
/// the server could store it without waiting for the final byte); the rest goes when the
/// returned sender is dropped.
async fn hanging_upload(
    server: &TestServer,
    len: usize,
) -> (mpsc::Sender<Result<Vec<u8>, std::io::Error>>, tokio::task::JoinHandle<StatusCode>) {
    let (content_type, body) = multipart("file", "slow.bin", &vec![7u8; len]);
    let (send, mut receive) = mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let (head, last) = body.split_at(body.len() - 100);
    send.send(Ok(head.to_vec())).await.unwrap();
    let last = last.to_vec();
    let stream = async_stream::stream! {
        while let Some(chunk) = receive.recv().await {
            yield chunk;
        }
        yield Ok(last);
    };
    let request = server
        .client
        .post(server.url("/api/uploads"))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(reqwest::Body::wrap_stream(stream));
    let sending = tokio::spawn(async move { request.send().await.unwrap().status() });
    (send, sending)
}

/// A refusal's status and code; an answer that is not one fails at once (an event
/// stream's body would never end).
async fn code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    assert!(!status.is_success(), "refused, not {status}");
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_in_flight_count_across_nodes() {
    let (a, b) = two_nodes(|c| c.user_max_in_flight = 1).await;
    let mut events = common::account_events(&a).await;
    let (rest, sending) = hanging_upload(&a, 60_000).await;
    within("a's upload to be announced", events.until(|e| e.data.contains("slow.bin"))).await;
    let (content_type, body) = multipart("file", "second.bin", &[1u8; 1_000]);
    let second = b.client.post(b.url("/api/uploads")).header(header::CONTENT_TYPE, content_type);
    let refused = code(second.body(body).send().await.unwrap()).await;
    assert_eq!(refused, (StatusCode::TOO_MANY_REQUESTS, "too_many_uploads".into()));

    drop(rest);
    assert_eq!(sending.await.unwrap(), StatusCode::ACCEPTED);
    // Its place was given back before its answer: the next upload, on b, goes at once.
    post_file(&b.client, &b.base(), "next.bin", &[2u8; 1_000]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_arriving_on_one_node_count_against_the_quota_on_another() {
    let (a, b) = two_nodes(|c| c.user_quota_bytes = 100_000).await;
    let mut events = common::account_events(&a).await;
    let (rest, sending) = hanging_upload(&a, 60_000).await;
    within("a's upload to be announced", events.until(|e| e.data.contains("slow.bin"))).await;
    let (content_type, body) = multipart("file", "big.bin", &vec![3u8; 60_000]);
    let big = b.client.post(b.url("/api/uploads")).header(header::CONTENT_TYPE, content_type);
    let refused = code(big.body(body).send().await.unwrap()).await;
    assert_eq!(refused, (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded".into()));
    drop(rest);
    assert_eq!(sending.await.unwrap(), StatusCode::ACCEPTED);
    post_file(&b.client, &b.base(), "fits.bin", &[2u8; 30_000]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_count_across_nodes() {
    let (a, b) = two_nodes(|c| c.user_max_streams = 1).await;
    let _open = SseReader::started(a.client.get(a.url("/api/events")).send().await.unwrap()).await;
    let refused = code(b.client.get(b.url("/api/events")).send().await.unwrap()).await;
    assert_eq!(refused, (StatusCode::TOO_MANY_REQUESTS, "too_many_streams".into()));
    let bob = Account::register(&b.base(), "bob").await;
    let his = bob.client.get(b.url("/api/events")).send().await.unwrap();
    assert_eq!(his.status(), StatusCode::OK, "another account has its own streams");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_registration_attempts_count_across_nodes() {
    let (a, b) = two_nodes(|c| c.registrations_per_hour = 2).await;
    // alice's registration on a was this address's first; bob's on b its second.
    Account::register(&b.base(), "bob").await;
    let third = reqwest::Client::new()
        .post(a.url("/api/auth/register"))
        .json(&json!({"username": "carol", "password": "correct horse"}));
    let refused = code(third.send().await.unwrap()).await;
    assert_eq!(refused, (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into()));

    // Five wrong passwords for one username, alternating between the nodes: the next
    // attempt is refused on either, unchecked.
    let attempt = |server: &TestServer| {
        let request = reqwest::Client::new().post(server.url("/api/auth/login"));
        request.json(&json!({"username": "alice", "password": "not her password"})).send()
    };
    for n in 0..5 {
        let server = if n % 2 == 0 { &a } else { &b };
        let refused = code(attempt(server).await.unwrap()).await;
        assert_eq!(
            refused,
            (StatusCode::UNAUTHORIZED, "invalid_credentials".into()),
            "attempt {n}"
        );
    }
    for server in [&a, &b] {
        let refused = code(attempt(server).await.unwrap()).await;
        assert_eq!(refused, (StatusCode::TOO_MANY_REQUESTS, "rate_limited".into()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumable_upload_is_held_by_one_request_across_nodes() {
    const MIB: usize = 1 << 20;
    let (a, b) = two_nodes(|_| {}).await;
    let mut events = common::account_events(&a).await;
    let data: Vec<u8> = (0..9 * MIB + 100).map(|i| (i % 251) as u8).collect();
    let (_, location) = tus::create(&a.client, &a.base(), data.len(), "aGVsZC5iaW4=").await;
    let id = tus::id_of(&location);

    // a gets 8 MiB, makes them durable and says so; then its client goes quiet, its
    // connection still open.
    let (send, body) = common::channel_body();
    let on_a = tokio::spawn(tus::patch(&a.client, &a.url(&location), 0).body(body).send());
    for chunk in data[..8 * MIB].chunks(MIB) {
        send.send(Ok(chunk.to_vec())).await.unwrap();
    }
    let at_8 = |e: &crate::common::Sse| e.json()["bytes_received"] == 8 * MIB;
    within("a to say it has 8 MiB", events.until(at_8)).await;

    // The client tries b instead: b asks a to let go, and a's request ends with what it
    // had; without a hold across nodes, it would go on holding the upload.
    let head = b.client.head(b.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.headers()["upload-offset"], (8 * MIB).to_string().as_str());
    let let_go = within("a's request to let go", on_a).await.unwrap().unwrap();
    assert_eq!(let_go.status(), StatusCode::NO_CONTENT);

    let patch = tus::patch(&b.client, &b.url(&location), 8 * MIB);
    let rest = patch.body(data[8 * MIB..].to_vec()).send().await.unwrap();
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    tus::assert_stored(&b.client, b.url(&format!("/api/uploads/{id}")), &data).await;
    drop(send);
}
