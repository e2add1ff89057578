//! The SQLite store under concurrent writers, and changes whose callers go away: a change
//! waits for other writers instead of failing, and once asked for it commits and
//! publishes even if nobody waits for it any more.

use std::{sync::Arc, time::Duration};

use shared::{Stage, UploadId};
use uplink::{
    domain::lifecycle::{new_upload, Change},
    events::{EventBus, MemoryHub, Recorder},
    store::{EventLog, MetadataRepo, Scope, SqliteRepo},
};

const OWNER: &str = "owner";

fn receiving(i: u32) -> Change {
    Change {
        stage: Some(Stage::Receiving),
        bytes_received: Some(u64::from(i)),
        ..Change::default()
    }
}

async fn store_with(ids: &[&str]) -> (tempfile::TempDir, Arc<SqliteRepo>, Vec<UploadId>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Arc::new(SqliteRepo::open(dir.path()).await.unwrap());
    let mut uploads = Vec::new();
    for id in ids {
        let id = UploadId::parse(id).unwrap();
        let upload = new_upload(id.clone(), "a".into(), None, "t");
        repo.insert(&shared::AccountId::new(OWNER), upload, Change::default()).await.unwrap();
        uploads.push(id);
    }
    (dir, repo, uploads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_never_fail_because_another_connection_wrote_meanwhile() {
    let (_dir, repo, ids) = store_with(&[
        "0191c1d2-6b0e-7a3c-9f00-0000000000aa",
        "0191c1d2-6b0e-7a3c-9f00-0000000000bb",
    ])
    .await;
    // Each record reads its upload, then writes; the two tasks write on two connections,
    // straight to the store (no recorder lock between them).
    let writers = ids.into_iter().map(|id| {
        let repo = repo.clone();
        tokio::spawn(async move {
            for i in 0..400 {
                repo.record(&id, receiving(i)).await.expect("a change waits for the other writer");
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_caller_gives_up_still_commits_and_publishes() {
    let (_dir, repo, ids) = store_with(&["0191c1d2-6b0e-7a3c-9f00-0000000000cc"]).await;
    let hub = Arc::new(MemoryHub::new(1024));
    let mut published = hub.subscribe(OWNER);
    let recorder = Recorder::new(repo.clone(), hub);

    // Each caller is polled once, then dropped: a client hanging up mid-request.
    const ABANDONED: u32 = 300;
    for i in 1..=ABANDONED {
        tokio::select! {
            biased;
            _ = recorder.record(&ids[0], receiving(i)) => {}
            () = std::future::ready(()) => {}
        }
    }
    // The store is not left locked: one more change goes through at once.
    recorder.record(&ids[0], receiving(ABANDONED + 1)).await.unwrap();

    // The abandoned changes run on in their own tasks, some perhaps after that last one:
    // wait for every one to be published (the timeout only turns a lost change into a
    // failure instead of a hang).
    let mut live = Vec::new();
    for _ in 0..=ABANDONED {
        let event = tokio::time::timeout(Duration::from_secs(30), published.recv())
            .await
            .expect("every change is published, even with nobody waiting for it")
            .unwrap();
        live.push(event.id);
    }
    let logged =
        repo.events_after(&Scope::account(shared::AccountId::new(OWNER)), 0, 1000).await.unwrap();
    assert_eq!(logged.len() as u32, 1 + ABANDONED + 1, "the insert and every change");
    let logged: Vec<i64> = logged[1..].iter().map(|e| e.id).collect();
    assert_eq!(live, logged, "published once each, in id order");
    assert!(published.try_recv().is_err(), "nothing published twice");
}
