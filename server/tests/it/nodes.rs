//! Several nodes on one PostgreSQL database: any node serves any client. Two servers in
//! this process share the database (accounts, sessions, the event log, the job queue,
//! the events-token key) and one blob store; a client streaming from one sees,
//! live and in order, what happens on the other, and a node whose listening connection
//! is killed catches up from the log.

use reqwest::Client;
use sqlx::{Connection, PgConnection};

use crate::common::{self, named, owned, post_file, read_sse, within, Sse, SseReader, TestServer};
use testkit::pdf as fixtures;
use uplink::AppState;

/// Two nodes on a fresh database; the second connects as `role` when given (a role of
/// its own, made for the test and dropped by [`drop_role`]).
async fn two_nodes(role: Option<&str>) -> (String, TestServer, TestServer) {
    two_nodes_on(testkit::postgres::fresh_database().await, role).await
}

/// [`two_nodes`] on the database at `url`.
async fn two_nodes_on(url: String, role: Option<&str>) -> (String, TestServer, TestServer) {
    let a = TestServer::start_with(|c| {
        c.database_url = Some(url.clone());
        c.node_id = Some("a".into());
    })
    .await;
    let b_url = match role {
        Some(role) => {
            let mut admin = PgConnection::connect(&url).await.unwrap();
            let create = format!("CREATE ROLE {role} LOGIN SUPERUSER PASSWORD 'node'");
            sqlx::query(&create).execute(&mut admin).await.unwrap();
            testkit::postgres::as_user(&url, role, "node")
        }
        None => url.clone(),
    };
    // The nodes share their bytes as they would in object storage: a job runs on
    // whichever node claims it.
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(&dir, |c| {
        c.database_url = Some(b_url);
        c.node_id = Some("b".into());
    });
    let blobs = std::sync::Arc::clone(&a.state.blobs);
    let state = AppState::open_with_blobs(config, common::leptos_options(), blobs).await.unwrap();
    let b = TestServer::join(dir, state, &a.user).await;
    (url, a, b)
}

fn until_done(event: &Sse) -> bool {
    matches!(event.name(), "done" | "error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_on_one_node_streams_live_on_the_other_and_replays_on_either() {
    let (_url, a, b) = two_nodes(None).await;
    // alice's session, made on a, is good on b.
    let mut live_on_b =
        SseReader::started(b.client.get(b.url("/api/events")).send().await.unwrap()).await;

    let created = post_file(&a.client, &a.base(), "three.pdf", &fixtures::pdf(3)).await;
    let id = created["id"].as_str().unwrap();
    let live = owned(&within("b to see a's upload", live_on_b.until(until_done)).await);
    common::assert_ordered(&named(&live));
    assert_eq!(live.last().unwrap().name(), "done", "b saw a's upload to its end");
    assert!(live.iter().any(|e| e.name() == "progress"), "live, step by step: {live:?}");

    // Replayed from the start on either node: exactly what b saw live.
    for node in [&a, &b] {
        let replay = node.client.get(node.url("/api/events")).header("Last-Event-ID", "0");
        let mut replay = SseReader::new(replay.send().await.unwrap());
        let replayed = owned(&within("a replay", replay.until(until_done)).await);
        assert_eq!(replayed, live, "the same on every node");
    }

    // An events token that a issued opens the upload's events on b.
    let issued = common::events_token(&a.client, &a.base(), id).await;
    let url = b.url(issued["events_url"].as_str().unwrap());
    let events = read_sse(Client::new().get(url).send().await.unwrap(), |_| false).await;
    assert_eq!(named(&events).last().unwrap().name(), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_listener_is_cut_catches_up_from_the_log() {
    // Roles belong to the whole cluster, which may be one that outlives the test.
    let role = format!("uplink_node_b_{}", std::process::id());
    let (url, a, b) = two_nodes(Some(&role)).await;
    let mut live_on_b =
        SseReader::started(b.client.get(b.url("/api/events")).send().await.unwrap()).await;
    // b follows alice's events from the log once it has seen one of hers; bob's stream
    // on b has seen none. Each way of catching up is taken below.
    post_file(&a.client, &a.base(), "before.txt", b"before").await;
    let before = within("b to see alice's first upload", live_on_b.until(until_done)).await;
    let last_before = before.last().and_then(|e| e.id).unwrap().to_string();
    let bob = common::Account::register(&a.base(), "bob").await;
    let mut bob_on_b =
        SseReader::started(bob.client.get(b.url("/api/events")).send().await.unwrap()).await;

    // b's connections are killed, its listener's among them, and b cannot log in again
    // for now (a listener reconnects through b's pool, so the pool's go too): whatever
    // happens meanwhile, b hears nothing of it.
    let mut admin = PgConnection::connect(&url).await.unwrap();
    let login = |can: &str| format!("ALTER ROLE {role} {can}");
    sqlx::query(&login("NOLOGIN")).execute(&mut admin).await.unwrap();
    let killed: Vec<(String, bool)> = sqlx::query_as(
        "SELECT query, pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
    )
    .bind(&role)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(killed.iter().all(|(_, gone)| *gone));
    assert!(killed.iter().any(|(query, _)| query.starts_with("LISTEN")), "{killed:?}");

    let after_before = a.client.get(a.url("/api/events")).header("Last-Event-ID", last_before);
    let mut alice_on_a = SseReader::started(after_before.send().await.unwrap()).await;
    let mut bob_on_a =
        SseReader::started(bob.client.get(a.url("/api/events")).send().await.unwrap()).await;
    post_file(&a.client, &a.base(), "while-b-is-deaf.pdf", &fixtures::pdf(2)).await;
    post_file(&bob.client, &a.base(), "bobs.pdf", &fixtures::pdf(2)).await;
    let alice_saw = owned(&within("alice's upload", alice_on_a.until(until_done)).await);
    let bob_saw = owned(&within("bob's upload", bob_on_a.until(until_done)).await);

    // b listens again, and its streams get all they missed, then go on live.
    sqlx::query(&login("LOGIN")).execute(&mut admin).await.unwrap();
    let caught_up = within("b to catch up for alice", live_on_b.until(until_done)).await;
    assert_eq!(owned(&caught_up), alice_saw, "every event once, in order");
    let caught_up = within("b to catch up for bob", bob_on_b.until(until_done)).await;
    assert_eq!(owned(&caught_up), bob_saw, "every event once, in order");
    post_file(&a.client, &a.base(), "after.txt", b"after").await;
    let after = owned(&within("b to go on live", live_on_b.until(until_done)).await);
    assert_eq!(after.last().unwrap().name(), "done", "and live again: {after:?}");

    drop((a, b, live_on_b, bob_on_b));
    drop_role(&mut admin, &role).await;
}

/// Drops a test's role once its last connection is gone.
async fn drop_role(admin: &mut PgConnection, role: &str) {
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1")
        .bind(role)
        .execute(&mut *admin)
        .await
        .unwrap();
    sqlx::query(&format!("DROP ROLE {role}")).execute(admin).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_writing_for_one_account_at_once_give_every_reader_every_id_once() {
    let (_url, a, b) = two_nodes(None).await;
    let mut readers = Vec::new();
    for node in [&a, &b, &a, &b] {
        let stream = node.client.get(node.url("/api/events")).send().await.unwrap();
        readers.push(SseReader::started(stream).await);
    }
    let owner = a.user.id.as_str();
    // Each node records an upload's 150 changes for alice, both at once.
    tokio::join!(
        common::churn(&a.state, owner, "0191c1d2-6b0e-7a3c-9f00-0000000000a1", 150, 0),
        common::churn(&b.state, owner, "0191c1d2-6b0e-7a3c-9f00-0000000000b1", 150, 0),
    );
    let mut sequences = Vec::new();
    for mut reader in readers {
        let events = within("both uploads on every reader", reader.until_finished(2)).await;
        sequences.push(events.iter().map(|e| e.id.unwrap()).collect::<Vec<i64>>());
    }
    let every: Vec<i64> =
        (1..=sequences[0].len() as i64).map(|n| n + sequences[0][0] - 1).collect();
    assert_eq!(sequences[0], every, "contiguous: no gap, no repeat");
    assert_eq!(sequences[0].len(), 2 * 152, "each upload's introduction, changes and done");
    assert!(sequences.iter().all(|ids| *ids == sequences[0]), "the same on every node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_arriving_on_a_live_node_is_left_alone_and_one_on_a_gone_node_ends() {
    let url = testkit::postgres::fresh_database().await;
    let node = |name: &'static str| {
        let url = url.clone();
        move |c: &mut uplink::Config| {
            c.database_url = Some(url);
            c.node_id = Some(name.into());
            c.job_lease = std::time::Duration::from_secs(3);
        }
    };
    let a = TestServer::start_with(node("a")).await;
    let owner = a.user.id.as_str();
    let on_a = common::arriving(&a.state, owner, "0191c1d2-6b0e-7a3c-9f00-0000000000a1").await;
    // c receives an upload, then stops: its heartbeat ends with it.
    let c_dir = tempfile::tempdir().unwrap();
    let c = common::state_in(&c_dir, node("c")).await;
    let on_c = common::arriving(&c, owner, "0191c1d2-6b0e-7a3c-9f00-0000000000c1").await;
    c.shutdown.cancel();
    c.repo.close().await.unwrap();

    // A node starting now, and the nodes looking again every lease, leave a's upload to a
    // and end c's once c's heartbeat has expired (a lease after its last).
    // (b is even given a's name, by mistake: a process is a life of its own.)
    let b_dir = tempfile::tempdir().unwrap();
    let _b = common::state_in(&b_dir, node("a")).await;
    let replay = a.client.get(a.url("/api/events")).header("Last-Event-ID", "0");
    let mut stream = SseReader::new(replay.send().await.unwrap());
    let ended = within("c's upload to end", stream.until(until_done)).await;
    let error = named(&ended).last().unwrap().json();
    assert_eq!(
        (error["upload_id"].as_str(), error["code"].as_str()),
        (Some(on_c.as_str()), Some("interrupted"))
    );
    let mine = a.state.repo.get(&on_a).await.unwrap().unwrap();
    assert_eq!(mine.status, shared::UploadStatus::Uploading, "a is still receiving its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_on_one_node_ends_the_sessions_streams_on_the_other() {
    let (_url, a, b) = two_nodes(None).await;
    let mut on_b =
        SseReader::started(b.client.get(b.url("/api/events")).send().await.unwrap()).await;
    let out = a.client.post(a.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let rest = within("b's stream to end", on_b.until(|_| false)).await;
    assert!(named(&rest).is_empty(), "nothing happened before it ended: {rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarting_mid_run_loses_nothing() {
    // A cluster of its own: restarting the shared one would cut every other test off.
    let cluster = std::sync::Arc::new(testkit::postgres::Cluster::start());
    let url = testkit::postgres::fresh_database_in(&cluster.url()).await;
    let (_url, a, b) = two_nodes_on(url, None).await;
    let mut on_b =
        SseReader::started(b.client.get(b.url("/api/events")).send().await.unwrap()).await;
    post_file(&a.client, &a.base(), "before.txt", b"before").await;
    let mut seen = owned(&within("the first upload on b", on_b.until(until_done)).await);

    let restarting = std::sync::Arc::clone(&cluster);
    tokio::task::spawn_blocking(move || restarting.restart()).await.unwrap();

    // The nodes' pools and listeners reconnect: an upload on a goes to its end on b.
    post_file(&a.client, &a.base(), "after.pdf", &fixtures::pdf(2)).await;
    seen.extend(owned(&within("the second upload on b", on_b.until(until_done)).await));
    assert_eq!(seen.last().unwrap().name(), "done");
    let ids: Vec<i64> = seen.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    let replay = b.client.get(b.url("/api/events")).header("Last-Event-ID", "0");
    let mut replay = SseReader::new(replay.send().await.unwrap());
    let replayed = within("the replay", replay.until_finished(2)).await;
    assert_eq!(replayed, seen, "nothing lost, nothing twice");
}
