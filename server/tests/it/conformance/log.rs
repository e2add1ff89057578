//! [`EventLog`]: every change's event is in the log with an id assigned at commit, in
//! commit order (also under concurrent writers), read back by scope after an id, with
//! snapshots, bounds and compaction.

use std::{collections::BTreeSet, sync::Arc};

use shared::{Stage, UploadStatus};
use uplink::{
    domain::{lifecycle::new_upload, Change},
    store::{EventLog, MetadataRepo, Scope},
};

use super::{account, id};

fn receiving(bytes: u64) -> Change {
    Change { stage: Some(Stage::Receiving), bytes_received: Some(bytes), ..Change::default() }
}

pub async fn suite<R: MetadataRepo, L: EventLog + ?Sized>(repo: Arc<R>, log: Arc<L>) {
    assert_eq!(log.log_bounds(&account("ada")).await.unwrap(), (0, 0), "an empty log");
    for (n, owner) in [(1, "ada"), (2, "ada"), (3, "bob")] {
        let owner = &account(owner);
        let upload = new_upload(id(n), format!("{n}.txt"), None, "2026-01-01T00:00:00.000Z");
        repo.insert(owner, upload, Change::default()).await.unwrap();
    }

    // Concurrent writers: every change's event gets its own id, and reading the log
    // gives them back in id order, each as the writer was told.
    let writers: Vec<_> = (0..40u64)
        .map(|n| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                let upload = id(1 + (n % 2) as u32);
                repo.record(&upload, receiving(n)).await.unwrap().1.id
            })
        })
        .collect();
    // A reader polling meanwhile never skips one: an id it has passed never commits later
    // (the trap of ids from a sequence, which commit out of order).
    let scope = Scope::account(account("ada"));
    let mut followed = Vec::new();
    while !writers.iter().all(|writer| writer.is_finished()) {
        let after = followed.last().copied().unwrap_or(0);
        followed.extend(log.events_after(&scope, after, 1000).await.unwrap().iter().map(|e| e.id));
        tokio::task::yield_now().await;
    }
    let mut told = BTreeSet::new();
    for writer in writers {
        assert!(told.insert(writer.await.unwrap()), "ids are unique");
    }
    let after = followed.last().copied().unwrap_or(0);
    followed.extend(log.events_after(&scope, after, 1000).await.unwrap().iter().map(|e| e.id));
    let ada = log.events_after(&scope, 0, 1000).await.unwrap();
    let ids: Vec<i64> = ada.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
    assert_eq!(ids.len(), 42, "two introductions and forty changes");
    assert!(told.iter().all(|id| ids.contains(id)), "each as its writer was told");
    assert!(ada.iter().all(|e| &*e.owner == "ada"), "a scope holds one account's");
    assert_eq!(followed, ids, "a reader that followed the log meanwhile saw every id");

    // Read after an id, by upload, a page at a time.
    let one = log.events_after(&Scope::upload(account("ada"), id(1)), 0, 1000).await.unwrap();
    assert_eq!(one.len(), 21);
    assert!(one.iter().all(|e| e.upload_id == id(1)));
    let page = log.events_after(&Scope::account(account("ada")), ids[9], 5).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), ids[10..15]);
    let theirs = log.events_after(&Scope::upload(account("bob"), id(1)), 0, 1000).await.unwrap();
    assert!(theirs.is_empty(), "another account's upload has no events for bob");
    let logged = one[1].logged().expect("a logged event reads back typed");
    assert_eq!(logged.id, one[1].id);

    // A snapshot is the present state at the head of the log.
    let snapshot = log.snapshot(&Scope::account(account("ada"))).await.unwrap();
    let head = log.log_bounds(&account("ada")).await.unwrap().1;
    assert_eq!(snapshot.head, head);
    assert_eq!(snapshot.uploads.len(), 2);
    assert!(snapshot
        .uploads
        .iter()
        .all(|(last, u)| ids.contains(last) && u.status == UploadStatus::Uploading));

    // Compaction removes finished uploads' events only, and moves the horizon.
    repo.record(&id(1), Change { status: Some(UploadStatus::Done), ..Change::default() })
        .await
        .unwrap();
    let removed = log.compact("9999-01-01T00:00:00.000Z").await.unwrap();
    assert_eq!(removed, 22, "upload 1's twenty-one events and its done");
    let (horizon, _) = log.log_bounds(&account("ada")).await.unwrap();
    assert!(horizon > 0, "the horizon moved");
    assert!(log
        .events_after(&Scope::upload(account("ada"), id(1)), 0, 1000)
        .await
        .unwrap()
        .is_empty());
    let kept = log.events_after(&Scope::upload(account("ada"), id(2)), 0, 1000).await.unwrap();
    assert_eq!(kept.len(), 21, "an unfinished upload keeps its events");
}
