//! `uplink migrate --to postgres://…` on an embedded deployment that has been used: its
//! clients go on as if nothing happened against a server on PostgreSQL over the same
//! data directory: the same session, API token and events token, the same event ids
//! replayed, the text, and new events after the old ones. It refuses a directory
//! without a deployment, and a second run once the first finished.

use std::process::Command;

use reqwest::header;
use serde_json::json;

use crate::common::{self, post_file, within, SseReader, TestServer};
use testkit::pdf as fixtures;
use uplink::AppState;

/// Runs `uplink migrate`: what it printed, or what it said when it refused.
fn migrate(data_dir: &std::path::Path, to: &str) -> Result<String, String> {
    let output = Command::new(env!("CARGO_BIN_EXE_uplink"))
        .args(["migrate", "--to", to, "--data-dir"])
        .arg(data_dir)
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
    embedded.shut_down().await;

    let database = testkit::postgres::fresh_database().await;
    let elsewhere = tempfile::tempdir().unwrap();
    let nothing = migrate(elsewhere.path(), &database).unwrap_err();
    assert!(nothing.contains("no Uplink database"), "{nothing}");
    let said = migrate(embedded.dir.path(), &database).unwrap();
    for moved in ["users: 1 new rows", "uploads: 1 new rows", "events-token key: copied"] {
        assert!(said.contains(moved), "{said}");
    }
    assert!(said.contains(&format!("events: {} new rows", before.len())), "{said}");
    // Once it finished, the nodes own the data: copying again would bring back what they
    // deleted (a revoked token), so it is refused.
    let again = migrate(embedded.dir.path(), &database).unwrap_err();
    assert!(again.contains("migrated already"), "{again}");

    // A server on PostgreSQL over the same data directory (the bytes stay there).
    let config = common::test_config(&embedded.dir, |c| c.database_url = Some(database.clone()));
    let state = AppState::open(config, common::leptos_options()).await.unwrap();
    let shared = TestServer::join(tempfile::tempdir().unwrap(), state, &embedded.user).await;
    let me = shared.client.get(shared.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), 200, "the session goes on");
    let listed = reqwest::Client::new()
        .get(shared.url("/api/uploads"))
        .header(header::AUTHORIZATION, &bearer);
    let listed: serde_json::Value = listed.send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["id"], id.as_str(), "the API token goes on");
    let after = within("the replay on PostgreSQL", replay(&shared).await.until_finished(1)).await;
    assert_eq!(after, before, "the same events under the same ids");
    let text =
        shared.client.get(shared.url(&format!("/api/uploads/{id}/text"))).send().await.unwrap();
    assert!(text.text().await.unwrap().contains(&fixtures::page_marker(3)), "the text");
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
