//! Several nodes' jobs: real `uplink` processes on one PostgreSQL database and one S3
//! bucket, each with a data directory of its own, one worker and a two-second lease. A node killed mid-extraction loses its job to another node, which
//! goes on from the page after the last one announced; a node frozen past its lease and
//! then let go writes nothing more for the job it lost.

use rustix::process::Signal;

use crate::common::{
    assert_ordered, named, owned, post_file, process::Process, within, Account, Sse, SseReader,
};
use testkit::{pdf as fixtures, s3::Bucket};

const PAGES: u64 = 300;

/// What a job taken over from a node that stopped says first.
const RESUMING: &str = "resuming after a server restart";

fn page(event: &Sse) -> Option<u64> {
    (event.name() == "progress" && event.json()["stage"] == "extracting")
        .then(|| event.json()["page"].as_u64())
        .flatten()
}

/// A node of a deployment on `database` and `bucket`, with a data directory of its own
/// (in `dir`) to show that it needs nothing another node left on its disk.
async fn node(dir: &std::path::Path, database: &str, bucket: &Bucket, name: &str) -> Process {
    let mut env = vec![
        ("UPLINK_DATABASE_URL", database.to_owned()),
        ("UPLINK_NODE_ID", name.to_owned()),
        ("UPLINK_JOB_LEASE", "2s".to_owned()),
    ];
    env.extend(bucket.env("takeover"));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Process::start_with_env(&dir.join(name), &env).await
}

async fn deployment() -> (tempfile::TempDir, String, Bucket) {
    let dir = tempfile::tempdir().unwrap();
    (dir, testkit::postgres::fresh_database().await, testkit::s3::fresh_bucket().await)
}

async fn events(node: &Process, account: &Account, id: &str, after: i64) -> SseReader {
    let request = account.client.get(node.url(&format!("/api/uploads/{id}/events")));
    SseReader::new(request.header("Last-Event-ID", after.to_string()).send().await.unwrap())
}

/// A long PDF uploaded through `node`, followed there until page `k` was announced.
async fn extracting(node: &Process, alice: &Account, k: u64) -> (String, Vec<Sse>) {
    let pdf = fixtures::pdf(PAGES as u32);
    let created = post_file(&alice.client, &node.url(""), "long.pdf", &pdf).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut stream = events(node, alice, &id, 0).await;
    let before = within("page k", stream.until(|e| page(e).is_some_and(|p| p >= k))).await;
    (id, named(&before).into_iter().cloned().collect())
}

/// The whole sequence holds: ordered, every page once, exactly one `done`, last.
fn assert_whole(sequence: &[Sse]) {
    assert_ordered(&sequence.iter().collect::<Vec<_>>());
    let reported: Vec<u64> = sequence.iter().filter_map(page).collect();
    assert_eq!(reported, (1..=PAGES).collect::<Vec<_>>(), "every page once, in order");
    assert_eq!(sequence.iter().filter(|e| e.name() == "done").count(), 1, "exactly one done");
    assert_eq!(sequence.last().unwrap().name(), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_extraction_loses_its_job_to_another_which_goes_on_from_its_page() {
    let (dir, database, bucket) = deployment().await;
    let a = node(dir.path(), &database, &bucket, "a").await;
    let alice = Account::register(&a.url(""), "alice").await;
    let (id, before) = extracting(&a, &alice, 10).await;
    a.kill().await;

    let b = node(dir.path(), &database, &bucket, "b").await;
    let last_seen = before.last().unwrap().id.unwrap();
    let mut on_b = events(&b, &alice, &id, last_seen).await;
    let after = within("b to finish the job", on_b.until(|e| e.name() == "done")).await;
    let sequence: Vec<Sse> = before.into_iter().chain(owned(&after)).collect();
    assert_whole(&sequence);
    assert!(
        sequence.iter().any(|e| e.json()["message"] == RESUMING),
        "b took the job over rather than a finishing it before the kill"
    );
    b.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_frozen_past_its_lease_writes_nothing_more_for_the_job_it_lost() {
    let (dir, database, bucket) = deployment().await;
    let a = node(dir.path(), &database, &bucket, "a").await;
    let alice = Account::register(&a.url(""), "alice").await;
    let (id, before) = extracting(&a, &alice, 10).await;
    let b = node(dir.path(), &database, &bucket, "b").await;
    a.signal(Signal::STOP);

    // b takes the job once a's lease runs out; as soon as b has announced a page of its
    // own, a wakes up, in the middle of the job it no longer holds.
    let last_seen = before.last().unwrap().id.unwrap();
    let mut on_b = events(&b, &alice, &id, last_seen).await;
    let resumed = |e: &Sse| e.name() == "progress" && e.json()["message"] == RESUMING;
    let mut taken_over = within("b to take the job over", on_b.until(resumed)).await;
    taken_over.extend(within("b's first page", on_b.until(|e| page(e).is_some())).await);
    a.signal(Signal::CONT);

    let rest = within("b to finish the job", on_b.until(|e| e.name() == "done")).await;
    let sequence: Vec<Sse> =
        before.into_iter().chain(owned(&taken_over)).chain(owned(&rest)).collect();
    assert_whole(&sequence);
    a.kill().await;
    b.kill().await;
}
