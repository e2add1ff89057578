//! The real binary in a child process, killed with SIGKILL mid-extraction and started
//! again on the same data directory: no acknowledged upload or emitted event is lost.

use crate::common;

use common::{
    assert_ordered, named, post_file, process::Process, read_sse, Account, Sse, SseReader,
};
use testkit::pdf as fixtures;

fn page(event: &Sse) -> Option<u64> {
    (event.name() == "progress" && event.json()["stage"] == "extracting")
        .then(|| event.json()["page"].as_u64())
        .flatten()
}

async fn events(process: &Process, account: &Account, id: &str, after: i64) -> reqwest::Response {
    account
        .client
        .get(process.url(&format!("/api/uploads/{id}/events")))
        .header("Last-Event-ID", after.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_extraction_resumes_and_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let pages = 240u64;
    let first = Process::start(dir.path()).await;

    // The session is stored with the uploads: it outlives the restart too.
    let alice = Account::register(&first.url(""), "alice").await;
    let created =
        post_file(&alice.client, &first.url(""), "long.pdf", &fixtures::pdf(pages as u32)).await;
    let id = created["id"].as_str().unwrap().to_owned();

    let mut stream = SseReader::new(events(&first, &alice, &id, 0).await);
    let before = stream.until(|e| page(e).is_some_and(|p| p >= 10)).await;
    first.kill().await;
    drop(stream);

    let before: Vec<Sse> = named(&before).into_iter().cloned().collect();
    let last_seen = before.last().unwrap().id.unwrap();
    let second = Process::start(dir.path()).await;
    let after = read_sse(events(&second, &alice, &id, last_seen).await, |_| false).await;
    let after: Vec<Sse> = named(&after).into_iter().cloned().collect();
    let sequence: Vec<Sse> = before.into_iter().chain(after).collect();

    assert_ordered(&sequence.iter().collect::<Vec<_>>());
    let reported: Vec<u64> = sequence.iter().filter_map(page).collect();
    assert_eq!(reported, (1..=pages).collect::<Vec<_>>(), "every page once, in order");
    assert_eq!(sequence.iter().filter(|e| e.name() == "done").count(), 1, "exactly one done");
    assert_eq!(sequence.last().unwrap().name(), "done");
    assert!(
        sequence.iter().any(|e| e.json()["message"] == "resuming after a server restart"),
        "the job was interrupted and resumed rather than finished before the kill"
    );

    // A client replaying the whole history afterwards sees exactly the same sequence.
    let replay = read_sse(events(&second, &alice, &id, 0).await, |_| false).await;
    assert_eq!(named(&replay).into_iter().cloned().collect::<Vec<_>>(), sequence);

    // And the text is complete: every page, once, in order.
    let text = alice
        .client
        .get(second.url(&format!("/api/uploads/{id}/text")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let texts: Vec<&str> = text.split('\x0c').collect();
    assert_eq!(texts.len() as u64, pages);
    for (i, page_text) in texts.iter().enumerate() {
        assert!(page_text.contains(&fixtures::page_marker(i as u32 + 1)), "page {}", i + 1);
    }
    second.kill().await;
}

#[tokio::test]
async fn event_ids_skip_ahead_after_an_unclean_stop_and_only_then() {
    use shared::{Stage, UploadId};
    use uplink::{
        domain::lifecycle::{new_upload, Change},
        store::{MetadataRepo, SqliteRepo},
    };
    let dir = tempfile::tempdir().unwrap();
    let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-0000000000ff").unwrap();
    let step = |percent| Change {
        stage: Some(Stage::Receiving),
        percent: Some(percent),
        ..Change::default()
    };

    let first = SqliteRepo::open(dir.path()).await.unwrap();
    let (_, created) = first
        .insert(
            &shared::AccountId::new("owner-1"),
            new_upload(id.clone(), "a".into(), None, "t"),
            Change::default(),
        )
        .await
        .unwrap();
    assert_eq!(created.id, 1);
    drop(first); // never closed: as after a crash or a power loss

    let second = SqliteRepo::open(dir.path()).await.unwrap();
    let (_, after_crash) = second.record(&id, step(1)).await.unwrap();
    assert!(after_crash.id > 1_000_000, "ids skip past any the crashed run may have lost");
    second.close().await.unwrap();
    drop(second);

    let third = SqliteRepo::open(dir.path()).await.unwrap();
    let (_, after_clean) = third.record(&id, step(2)).await.unwrap();
    assert_eq!(after_clean.id, after_crash.id + 1, "a clean stop leaves ids dense");
}
