//! `uplink migrate --to postgres://… --blobs-to s3://…` on an embedded deployment that
//! has been used: its clients go on as if nothing happened against a node on PostgreSQL
//! and S3 with an empty data directory: the same session, API token and events token,
//! the same event ids replayed, the file and its text, a tus upload half sent finished
//! from its offset, and new events after the old ones. It refuses a directory without a
//! deployment, and a second run once the first finished.

use std::process::Command;

use reqwest::header;
use serde_json::json;

use std::sync::Arc;

use crate::common::{
    self, post_file,
    tus::{self, TUS},
    within, SseReader, TestServer,
};
use testkit::{pdf as fixtures, s3::Bucket};
use uplink::AppState;

async fn tus_patch(
    client: &reqwest::Client,
    url: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    tus::patch(client, url, offset).body(bytes.to_vec()).send().await.unwrap()
}

/// Runs `uplink migrate`, with the bytes into `bucket`: what it printed, or what it said
/// when it refused.
fn migrate(data_dir: &std::path::Path, to: &str, bucket: &Bucket) -> Result<String, String> {
    let location = bucket.location("moved");
    let output = Command::new(env!("CARGO_BIN_EXE_uplink"))
        .args(["migrate", "--to", to, "--blobs-to", &location, "--data-dir"])
        .arg(data_dir)
        .envs(bucket.env("moved"))
        .output()
        .unwrap();
    match output.status.success() {
        true => Ok(String::from_utf8(output.stdout).unwrap()),
        false => Err(String::from_utf8(output.stderr).unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_deployment_moves_to_postgres_and_its_clients_go_on() {
    let mut embedded = TestServer::start().await;
    let created =
        post_file(&embedded.client, &embedded.base(), "three.pdf", &fixtures::pdf(3)).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let replay = |server: &TestServer| {
        let request = server.client.get(server.url("/api/events")).header("Last-Event-ID", "0");
        async move { SseReader::new(request.send().await.unwrap()) }
    };
    let before = within("the upload on SQLite", replay(&embedded).await.until_finished(1)).await;
    let made = embedded.client.post(embedded.url("/api/auth/tokens")).json(&json!({"name": "ci"}));
    let made: serde_json::Value = made.send().await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", made["token"].as_str().unwrap());
    let issued = common::events_token(&embedded.client, &embedded.base(), &id).await;
    // A tus upload with 100 of its 300 bytes sent.
    let sent: Vec<u8> = (0..300u32).map(|n| (n % 7) as u8).collect();
    let tus = embedded.client.post(embedded.url("/api/tus")).header(TUS.0, TUS.1);
    let tus = tus.header("upload-length", "300").send().await.unwrap();
    let location = tus.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let patched = tus_patch(&embedded.client, &embedded.url(&location), 0, &sent[..100]).await;
    assert_eq!(patched.status(), 204);
    embedded.shut_down().await;

    let database = testkit::postgres::fresh_database().await;
    let bucket = testkit::s3::fresh_bucket().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let nothing = migrate(elsewhere.path(), &database, &bucket).unwrap_err();
    assert!(nothing.contains("no Uplink database"), "{nothing}");
    let said = migrate(embedded.dir.path(), &database, &bucket).unwrap();
    for moved in ["users: 1 new rows", "uploads: 2 new rows", "events-token key: copied"] {
        assert!(said.contains(moved), "{said}");
    }
    // The PDF, its text and the tus upload's first 100 bytes.
    assert!(said.contains("blobs: 3 copied"), "{said}");
    // The PDF's events, and the tus upload's announcement and progress.
    let events = said.split("events: ").nth(1).and_then(|rest| rest.split(' ').next());
    let events: usize = events.unwrap().parse().unwrap();
    assert!(events >= before.len() + 2, "{said}");
    // Once it finished, the nodes own the data: copying again would bring back what they
    // deleted (a revoked token), so it is refused.
    let again = migrate(embedded.dir.path(), &database, &bucket).unwrap_err();
    assert!(again.contains("migrated already"), "{again}");

    // A node on PostgreSQL and the bucket, over an empty data directory.
    let fresh = tempfile::tempdir().unwrap();
    let config = common::test_config(&fresh, |c| c.database_url = Some(database.clone()));
    let blobs = Arc::new(common::s3_store(&bucket, "moved").await);
    let state = AppState::open_with_blobs(config, common::leptos_options(), blobs).await.unwrap();
    let shared = TestServer::join(fresh, state, &embedded.user).await;
    let me = shared.client.get(shared.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the session goes on");
    let listed = reqwest::Client::new()
        .get(shared.url("/api/uploads"))
        .header(header::AUTHORIZATION, &bearer);
    let listed: serde_json::Value = listed.send().await.unwrap().json().await.unwrap();
    let listed: Vec<&str> =
        listed.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert!(listed.contains(&id.as_str()), "the API token goes on: {listed:?}");
    let after = within("the replay on PostgreSQL", replay(&shared).await.until_finished(1)).await;
    assert_eq!(after, before, "the same events under the same ids");
    let text =
        shared.client.get(shared.url(&format!("/api/uploads/{id}/text"))).send().await.unwrap();
    assert!(text.text().await.unwrap().contains(&fixtures::page_marker(3)), "the text");
    let file = shared.client.get(shared.url(&format!("/api/uploads/{id}/file"))).send().await;
    assert!(file.unwrap().bytes().await.unwrap() == fixtures::pdf(3), "the file");
    let head = shared.client.head(shared.url(&location)).header(TUS.0, TUS.1).send().await;
    assert_eq!(head.unwrap().headers()["upload-offset"], "100", "the tus upload's offset");
    let rest = tus_patch(&shared.client, &shared.url(&location), 100, &sent[100..]).await;
    assert_eq!(rest.status(), 204, "the tus upload goes on");
    let tus_id = location.rsplit('/').next().unwrap();
    let finished = shared.client.get(shared.url(&format!("/api/uploads/{tus_id}/file"))).send();
    assert!(finished.await.unwrap().bytes().await.unwrap() == sent, "its bytes, whole");
    let by_token = reqwest::Client::new().get(shared.url(issued["events_url"].as_str().unwrap()));
    let by_token = common::read_sse(by_token.send().await.unwrap(), |_| false).await;
    assert_eq!(common::named(&by_token).last().unwrap().name(), "done", "the events token goes on");

    // New events come after the old ones.
    let last = before.last().unwrap().id.unwrap();
    let following =
        shared.client.get(shared.url("/api/events")).header("Last-Event-ID", last.to_string());
    let mut following = SseReader::started(following.send().await.unwrap()).await;
    post_file(&shared.client, &shared.base(), "new.txt", b"new").await;
    let new = within("a new upload on PostgreSQL", following.until_finished(1)).await;
    assert!(new.iter().all(|e| e.id.unwrap() > last), "ids go on from the old ones");
}
