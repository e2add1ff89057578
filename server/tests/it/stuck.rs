//! Nothing stuck, nothing miscounted: storage that fails at every step of receiving an
//! upload (and a real full disk) ends that upload `failed` with its `error` event; quota
//! counts only bytes that were stored; files with no upload are swept at start-up; and a
//! replay that compaction overtakes ends instead of skipping events.

use crate::common;

use std::{
    io,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use common::{post_file, process::Process, Account, SseReader, TestServer};
use serde_json::Value;
use shared::UploadId;
use uplink::{
    store::{BlobAppender, BlobKey, BlobReader, BlobStore, BlobWriter, FsBlobStore, Scope},
    AppState,
};

/// Where the blob store below fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Write,
    Commit,
}

/// The filesystem store, failing at one step while `failing` is set.
struct Failing {
    inner: FsBlobStore,
    failing: Arc<Mutex<Option<Step>>>,
}

fn fails(failing: &Mutex<Option<Step>>, step: Step) -> io::Result<()> {
    match *failing.lock().unwrap() == Some(step) {
        true => Err(io::Error::other(format!("the disk failed at {step:?}"))),
        false => Ok(()),
    }
}

#[async_trait]
impl BlobStore for Failing {
    async fn create(&self, key: &BlobKey) -> io::Result<Box<dyn BlobWriter>> {
        fails(&self.failing, Step::Create)?;
        let inner = self.inner.create(key).await?;
        Ok(Box::new(FailingWriter { inner, failing: Arc::clone(&self.failing) }))
    }

    async fn open(&self, key: &BlobKey) -> io::Result<(BlobReader, u64)> {
        self.inner.open(key).await
    }

    async fn open_at(&self, key: &BlobKey, offset: u64) -> io::Result<(BlobReader, u64)> {
        self.inner.open_at(key, offset).await
    }

    async fn delete(&self, key: &BlobKey) -> io::Result<()> {
        self.inner.delete(key).await
    }

    async fn stored_ids(&self) -> io::Result<Vec<UploadId>> {
        self.inner.stored_ids().await
    }

    async fn append(&self, id: &UploadId, offset: u64) -> io::Result<Box<dyn BlobAppender>> {
        self.inner.append(id, offset).await
    }

    async fn seal(&self, id: &UploadId, length: u64) -> io::Result<()> {
        self.inner.seal(id, length).await
    }
}

struct FailingWriter {
    inner: Box<dyn BlobWriter>,
    failing: Arc<Mutex<Option<Step>>>,
}

#[async_trait]
impl BlobWriter for FailingWriter {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        fails(&self.failing, Step::Write)?;
        self.inner.write(chunk).await
    }

    async fn commit(self: Box<Self>) -> io::Result<()> {
        if let Err(error) = fails(&self.failing, Step::Commit) {
            self.inner.abort().await;
            return Err(error);
        }
        self.inner.commit().await
    }

    async fn abort(self: Box<Self>) {
        self.inner.abort().await
    }
}

/// The error event of upload `id` on `events`. The bound only keeps an upload left
/// stuck (the failure this file is about) from hanging the test.
async fn error_of(events: &mut SseReader, id: &str) -> Value {
    let seen = events.until(|e| e.name() == "error" && e.json()["upload_id"].as_str() == Some(id));
    let seen = tokio::time::timeout(Duration::from_secs(30), seen).await;
    seen.expect("the upload ended with an error event").last().unwrap().json()
}

#[tokio::test]
async fn an_upload_whose_storage_fails_at_any_step_ends_failed() {
    let dir = tempfile::tempdir().unwrap();
    let failing = Arc::new(Mutex::new(None));
    let blobs = Failing {
        inner: FsBlobStore::open_dir(dir.path().join("blobs")).await.unwrap(),
        failing: Arc::clone(&failing),
    };
    let config = common::test_config(&dir, |c| c.user_max_in_flight = 1);
    let state = AppState::open_with_blobs(config, common::leptos_options(), Arc::new(blobs));
    let server = TestServer::serve(dir, state.await.unwrap()).await;
    let mut events = common::account_events(&server).await;

    for step in [Step::Create, Step::Write, Step::Commit] {
        *failing.lock().unwrap() = Some(step);
        let (content_type, body) = common::multipart("file", "doomed.txt", b"some bytes");
        let answer = server
            .client
            .post(server.url("/api/uploads"))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 500, "{step:?}");
        assert_eq!(answer.json::<Value>().await.unwrap()["code"], "internal");
        let introduced = events.until(|e| e.name() == "progress").await;
        let id = introduced.last().unwrap().json()["upload_id"].as_str().unwrap().to_owned();
        let error = error_of(&mut events, &id).await;
        assert_eq!(error["code"], "internal", "{step:?}: {error}");
        let upload =
            common::get_json(&server.client, server.url(&format!("/api/uploads/{id}"))).await;
        assert_eq!(upload["status"], "failed", "{step:?}");
    }
    // Nothing half-written is left, and the one in-flight place was given back each time.
    assert_eq!(std::fs::read_dir(server.dir.path().join("blobs/tmp")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(server.dir.path().join("blobs/originals")).unwrap().count(), 0);
    *failing.lock().unwrap() = None;
    let kept = post_file(&server.client, &server.base(), "fine.txt", b"fine").await;
    assert_eq!(kept["status"], "queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_full_disk_uploads_fail_cleanly_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = dir.path().join("blobs");
    std::fs::create_dir(&blobs).unwrap();
    // A 4 MiB filesystem for the stored files alone, in a mount namespace of the
    // server's own (a user namespace makes that possible without privileges).
    let wrapper = [
        "unshare",
        "--mount",
        "--map-root-user",
        "sh",
        "-c",
        r#"mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@""#,
        blobs.to_str().unwrap(),
    ];
    let server = Process::start_under(dir.path(), &wrapper).await;
    let alice = Account::register(&server.url(""), "alice").await;
    let events = alice.client.get(server.url("/api/events")).send().await.unwrap();
    let mut events = SseReader::started(events).await;
    let post = |name: &'static str, size: usize| {
        let (content_type, body) = common::multipart("file", name, &vec![b'd'; size]);
        let request = alice.client.post(server.url("/api/uploads"));
        request.header(reqwest::header::CONTENT_TYPE, content_type).body(body).send()
    };
    let first = post("fills.bin", 4_000_000).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    // Under the write buffer: it reaches the disk at the commit, which fails there.
    // Then one far larger than the disk, which fails while its bytes are written.
    for (name, size) in [("at-commit.bin", 250_000), ("while-writing.bin", 8 << 20)] {
        let answer = post(name, size).await.unwrap();
        assert_eq!(answer.status(), 500, "{name}");
        let progress = events
            .until(|e| e.name() == "progress" && e.json()["upload"]["filename"] == name)
            .await;
        let id = progress.last().unwrap().json()["upload_id"].as_str().unwrap().to_owned();
        let error = error_of(&mut events, &id).await;
        assert_eq!(error["code"], "internal", "{name}");
        assert!(error["message"].as_str().unwrap().contains("no room"), "{error}");
    }
    // Room again: the next upload is stored and processed.
    let first_id = first["id"].as_str().unwrap();
    let removed = alice.client.delete(server.url(&format!("/api/uploads/{first_id}"))).send();
    assert_eq!(removed.await.unwrap().status(), 204);
    let after = post_file(&alice.client, &server.url(""), "after.txt", b"room again").await;
    let id = after["id"].as_str().unwrap();
    let done = events.until(|e| e.name() == "done" && e.json()["upload_id"] == id).await;
    assert_eq!(done.last().unwrap().name(), "done");
    server.kill().await;
}

#[tokio::test]
async fn quota_counts_only_bytes_that_were_stored() {
    const QUOTA: u64 = 100_000;
    let server = TestServer::start_with(|c| {
        c.user_quota_bytes = QUOTA;
        c.upload_idle_timeout = Duration::from_secs(1);
        c.upload_min_rate = 0;
    })
    .await;
    let mut events = common::account_events(&server).await;
    // 60 KB of a 90 KB upload arrive (the server records how far it got), then the
    // client goes quiet and the upload is abandoned.
    let (content_type, body) = common::multipart("file", "abandoned.bin", &[b'a'; 90_000]);
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = common::upload_head(&server, &content_type, body.len());
    tokio::io::AsyncWriteExt::write_all(&mut socket, head.as_bytes()).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut socket, &body[..60_000]).await.unwrap();
    let failed = events.until(|e| e.name() == "error").await;
    assert_eq!(failed.last().unwrap().json()["code"], "upload_aborted");
    let id = failed.last().unwrap().json()["upload_id"].as_str().unwrap().to_owned();
    let upload = common::get_json(&server.client, server.url(&format!("/api/uploads/{id}"))).await;
    assert!(upload["size"].as_u64().unwrap() > 0, "it kept the size it reached: {upload}");
    drop(socket);
    // That partial upload takes none of the quota: 95 KB more fit in 100 KB.
    let stored = post_file(&server.client, &server.base(), "fits.bin", &[b'f'; 95_000]).await;
    assert_eq!(stored["size"], 95_000);
}

#[tokio::test]
async fn stored_files_with_no_upload_are_swept_at_start() {
    let mut server = TestServer::start().await;
    let kept = post_file(&server.client, &server.base(), "kept.txt", b"kept").await;
    let kept_id = kept["id"].as_str().unwrap();
    // An upload whose bytes were committed just before the server stopped, ahead of the
    // record that would have kept them: it is left `uploading`.
    let cut = common::arriving(
        &server.state,
        server.user.id.as_str(),
        "0191c1d2-6b0e-7a3c-9f00-0000000c0ffe",
    )
    .await;
    server.shut_down().await;
    let blobs = server.dir.path().join("blobs");
    std::fs::write(blobs.join("originals").join(cut.as_str()), b"committed, never recorded")
        .unwrap();
    let orphan = "0191c1d2-6b0e-7a3c-9f00-00000000beef";
    for place in ["originals", "text", "thumbnails"] {
        std::fs::write(blobs.join(place).join(orphan), b"nobody's").unwrap();
    }
    std::fs::write(blobs.join("originals/not-an-id"), b"not ours to judge").unwrap();
    std::fs::write(blobs.join("tmp/half-written"), b"partial").unwrap();

    let again = common::state_in(&server.dir, |_| {}).await;
    for place in ["originals", "text", "thumbnails"] {
        assert!(!blobs.join(place).join(orphan).exists(), "{place}");
    }
    let interrupted = again.repo.get(&cut).await.unwrap().unwrap();
    assert_eq!(interrupted.error.unwrap().code, shared::ErrorCode::Interrupted);
    assert!(
        !blobs.join("originals").join(cut.as_str()).exists(),
        "an interrupted upload's bytes go"
    );
    assert!(blobs.join("originals").join(kept_id).exists(), "a real upload's file stays");
    assert!(blobs.join("originals/not-an-id").exists(), "a name no key makes is left alone");
    assert_eq!(std::fs::read_dir(blobs.join("tmp")).unwrap().count(), 0);
}

#[tokio::test]
async fn a_replay_that_compaction_overtakes_ends_rather_than_skipping_events() {
    let dir = tempfile::tempdir().unwrap();
    let state = common::state_in(&dir, |c| c.event_retention = Duration::ZERO).await;
    let owner = "replayer";
    // A finished upload with well over one replay batch of events, then one still open.
    common::churn(&state, owner, "0191c1d2-6b0e-7a3c-9f00-00000000000a", 1500, 0).await;
    common::arriving(&state, owner, "0191c1d2-6b0e-7a3c-9f00-00000000000b").await;
    let all = state
        .log
        .events_after(&Scope::account(shared::AccountId::new(owner)), 0, 10_000)
        .await
        .unwrap();
    let ids: Vec<i64> = all.iter().map(|e| e.id).collect();

    let mut stream = common::DirectStream::owner(&state, owner, Some(0));
    let mut received = Vec::new();
    // `retry:` and the first event: the first batch has been read from the log.
    while received.is_empty() {
        received.extend(stream.next_ids().await.unwrap());
    }
    // Compaction removes the finished upload's events while the replay is under way.
    assert!(state.compact_events().await.unwrap() > 1000);
    // The stream must end by itself; the bound only keeps a broken one from hanging here
    // once it has gone live.
    while let Ok(Some(ids)) = tokio::time::timeout(Duration::from_secs(10), stream.next_ids()).await
    {
        received.extend(ids);
    }
    assert!(received.len() < ids.len(), "the replay ended early");
    assert_eq!(received, ids[..received.len()], "no event skipped before the end");
}
