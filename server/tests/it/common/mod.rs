//! Test harness: the real server on 127.0.0.1:0 with a fresh data directory and a
//! logged-in account, plus a multipart builder; the SSE reader is the test kit's.

pub mod cluster;
pub mod process;
pub mod raw;
pub mod tus;

pub use raw::RawSse;
#[allow(unused_imports)] // the counting-allocator test uses a few only
pub use testkit::sse::{named, read_sse, Sse, SseParser, SseReader};

use std::net::SocketAddr;

use futures_util::StreamExt;
use tokio::sync::oneshot;
use uplink::{AppState, Config};

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    /// Logged in as `alice`, whose uploads most tests make.
    pub client: reqwest::Client,
    pub user: Account,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(&dir, configure).await;
        Self::serve(dir, state).await
    }

    /// Serves `state`, made over `dir`, on a fresh listener with `alice` logged in.
    pub async fn serve(dir: tempfile::TempDir, state: AppState) -> Self {
        Self::serve_as(dir, state, None).await
    }

    /// Another node of a deployment `user` already belongs to: `state` shares its
    /// database, and `user`'s session works here too.
    pub async fn join(dir: tempfile::TempDir, state: AppState, user: &Account) -> Self {
        Self::serve_as(dir, state, Some(user.clone())).await
    }

    async fn serve_as(dir: tempfile::TempDir, state: AppState, user: Option<Account>) -> Self {
        // The server's warnings and errors, shown with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn,uplink::error=error")
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(uplink::run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let user = match user {
            Some(user) => user,
            None => Account::register(&format!("http://{addr}"), "alice").await,
        };
        let client = user.client.clone();
        Self { addr, state, dir, client, user, stop: Some(stop), serving: Some(serving) }
    }

    /// Asks for a graceful shutdown and waits until the server has stopped serving.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn base(&self) -> String {
        self.url("")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The server's state over a fresh data directory, without a listener.
pub async fn state_in(dir: &tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> AppState {
    AppState::open(test_config(dir, configure), leptos_options()).await.unwrap()
}

/// The tests' configuration over `dir`, with `configure` applied.
pub fn test_config(dir: &tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::for_data_dir(dir.path());
    config.workers = Some(2);
    // Extraction children run the server's executable; ours is the test harness.
    config.extractor = Some(env!("CARGO_BIN_EXE_uplink").into());
    configure(&mut config);
    config
}

pub fn leptos_options() -> leptos::prelude::LeptosOptions {
    leptos::prelude::LeptosOptions::builder().output_name("uplink").build()
}

/// An account with a session: a cookie-keeping client, and the raw cookie for clients
/// that are not reqwest.
#[derive(Clone)]
pub struct Account {
    pub id: shared::AccountId,
    pub client: reqwest::Client,
    /// `uplink_session=…`, ready for a `Cookie` header.
    pub cookie: String,
}

impl Account {
    /// Registers `username` (password `correct horse`) on the server at `base`.
    pub async fn register(base: &str, username: &str) -> Self {
        let client = browser();
        let response = client
            .post(format!("{base}/api/auth/register"))
            .json(&serde_json::json!({"username": username, "password": "correct horse"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "registering {username}");
        let cookie = session_cookie(&response);
        let user: shared::User = response.json().await.unwrap();
        Self { id: user.id, client, cookie }
    }
}

/// The named events of a sequence (no `retry:` or comments), as owned values.
pub fn owned(events: &[Sse]) -> Vec<Sse> {
    named(events).into_iter().cloned().collect()
}

/// `work`, which a broken server could make wait for good, given a minute: the test fails
/// saying what it was waiting for instead of hanging.
pub async fn within<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(std::time::Duration::from_secs(60), work).await {
        Ok(done) => done,
        Err(_) => panic!("still waiting after a minute for {what}"),
    }
}

/// GETs `url` with `client`'s session and returns the JSON it answers.
pub async fn get_json(client: &reqwest::Client, url: String) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// A client that keeps cookies, as a browser does.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

/// The `name=value` pair a response's `Set-Cookie` sets, ready to send back.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[reqwest::header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

pub const BOUNDARY: &str = "uplink-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart/form-data body with one file part named `field`.
pub fn multipart(field: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// `POST /api/uploads` with `bytes` as the `file` part, ready to send.
fn upload_request(
    client: &reqwest::Client,
    base: &str,
    filename: &str,
    bytes: &[u8],
) -> reqwest::RequestBuilder {
    let (content_type, body) = multipart("file", filename, bytes);
    client
        .post(format!("{base}/api/uploads"))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
}

/// POSTs `bytes` as the `file` part to the server at `base` (`http://host:port`) as
/// `client`'s account and returns the acknowledged upload's JSON.
pub async fn post_file(
    client: &reqwest::Client,
    base: &str,
    filename: &str,
    bytes: &[u8],
) -> serde_json::Value {
    let created = upload_request(client, base, filename, bytes).send().await.unwrap();
    assert_eq!(created.status(), 202, "the upload is acknowledged");
    created.json().await.unwrap()
}

/// POSTs `bytes` with `Accept: text/event-stream` and returns the upload's event stream.
pub async fn post_streaming(
    client: &reqwest::Client,
    base: &str,
    filename: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let response = upload_request(client, base, filename, bytes)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[reqwest::header::CONTENT_TYPE], "text/event-stream");
    response
}

/// The ordering invariants of a sequence of events: ids strictly increase, `percent`
/// never decreases, and 100 comes only with `done`.
pub fn assert_ordered(events: &[&Sse]) {
    let ids: Vec<i64> = events.iter().map(|e| e.id.expect("every event has an id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids strictly increase: {ids:?}");
    let percents: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.name() {
            "progress" => e.json()["percent"].as_u64(),
            "done" => Some(100),
            _ => None,
        })
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "percent never decreases: {percents:?}");
    assert!(percents.iter().rev().skip(1).all(|p| *p < 100), "100 only with done");
}

/// A new upload of `owner`'s with id `id`, announced and left `uploading` (as if its bytes
/// were still arriving), recorded straight through the recorder.
pub async fn arriving(state: &AppState, owner: &str, id: &str) -> shared::UploadId {
    let owner = &shared::AccountId::new(owner);
    use uplink::domain::lifecycle::{new_upload, Change};
    let id = shared::UploadId::parse(id).unwrap();
    let upload = new_upload(id.clone(), "arriving.bin".into(), None, "t");
    let introduce = Change { introduce: true, ..Change::default() };
    state.recorder.create(owner, upload, introduce).await.unwrap();
    id
}

/// The head of a `POST /api/uploads` written by hand, announcing `length` bytes.
pub fn upload_head(server: &TestServer, content_type: &str, length: usize) -> String {
    format!(
        "POST /api/uploads HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {length}\r\n\r\n",
        server.addr, server.user.cookie
    )
}

/// `POST /api/uploads/{id}/token` as `client`'s account: the events token's JSON.
pub async fn events_token(client: &reqwest::Client, base: &str, id: &str) -> serde_json::Value {
    let issued = client.post(format!("{base}/api/uploads/{id}/token")).send().await.unwrap();
    issued.json().await.unwrap()
}

/// An event stream made by the library directly (no HTTP), read frame by frame.
pub struct DirectStream {
    frames: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, std::convert::Infallible>> + Send>,
    >,
    parser: SseParser,
}

impl DirectStream {
    /// `owner`'s whole stream, after `last_event_id` (`None`: from a snapshot).
    pub fn owner(state: &AppState, owner: &str, last_event_id: Option<i64>) -> Self {
        let request = uplink::events::StreamRequest {
            scope: uplink::store::Scope::account(shared::AccountId::new(owner)),
            last_event_id,
            end_on_terminal: false,
            session: None,
        };
        let frames = Box::pin(uplink::events::event_stream(state.stream_deps(), request));
        Self { frames, parser: SseParser::default() }
    }

    /// The ids of the events in the next frame; `None` once the stream has ended.
    pub async fn next_ids(&mut self) -> Option<Vec<i64>> {
        let frame = self.frames.next().await?.unwrap();
        Some(self.parser.push(&frame).into_iter().filter_map(|e| e.id).collect())
    }
}

/// The account's `/api/events`, once it has taken its starting point.
pub async fn account_events(server: &TestServer) -> SseReader {
    SseReader::started(server.client.get(server.url("/api/events")).send().await.unwrap()).await
}

/// Records `events` progress changes on a new upload of `owner`'s straight through the
/// recorder (the path every real event takes, minus the file), then its `done`. Each
/// carries a `message` of `padding` bytes, to push many bytes through streams with few
/// commits.
pub async fn churn(state: &AppState, owner: &str, id: &str, events: u64, padding: usize) {
    use shared::{Stage, UploadStatus};
    use uplink::domain::lifecycle::Change;
    let id = arriving(state, owner, id).await;
    for i in 1..=events {
        let change = Change {
            stage: Some(Stage::Receiving),
            percent: Some((i * 40 / events) as u8),
            bytes_received: Some(i),
            bytes_total: Some(events),
            message: (padding > 0).then(|| "x".repeat(padding)),
            ..Change::default()
        };
        state.recorder.record(&id, change).await.unwrap();
    }
    let done = Change { status: Some(UploadStatus::Done), ..Change::default() };
    state.recorder.record(&id, done).await.unwrap();
}

/// A blob store on test bucket `bucket`, under `prefix`.
pub async fn s3_store(bucket: &testkit::s3::Bucket, prefix: &str) -> uplink::store::S3BlobStore {
    let settings = uplink::store::S3Settings {
        location: bucket.location(prefix).parse().unwrap(),
        endpoint: Some(bucket.endpoint.clone()),
        region: Some(testkit::s3::REGION.to_owned()),
        allow_http: true,
        keys: Some(("test".to_owned(), "test".to_owned())),
    };
    uplink::store::S3BlobStore::open(&settings).await.unwrap()
}

/// A request body that sends what is put into the returned sender, and ends when it is
/// dropped (or breaks, with an error put in).
pub fn channel_body() -> (tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>, reqwest::Body)
{
    let (send, receive) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let stream = futures_util::stream::unfold(receive, |mut receive| async move {
        receive.recv().await.map(|chunk| (chunk, receive))
    });
    (send, reqwest::Body::wrap_stream(stream))
}
