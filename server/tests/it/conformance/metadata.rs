//! [`MetadataRepo`]: uploads isolated by owner, changes under the lifecycle rules
//! (refusals told apart from failures), writes fenced by attempt, checkpoints that end
//! with the job, and removal.

use shared::{ErrorBody, ErrorCode, UploadStatus};
use uplink::{
    domain::{lifecycle::new_upload, Change, Refused},
    store::{ChangeError, MetadataRepo, StoreError},
};

use super::{account, id};

fn to(status: UploadStatus) -> Change {
    Change { status: Some(status), ..Change::default() }
}

pub async fn suite<R: MetadataRepo + ?Sized>(repo: &R) {
    // A new upload is announced, and only its owner finds it.
    let upload = new_upload(id(1), "a.pdf".into(), None, "2026-01-01T00:00:00.000Z");
    let (created, event) = repo
        .insert(&account("ada"), upload, Change { introduce: true, ..Change::default() })
        .await
        .unwrap();
    assert_eq!((created.status, event.upload_id.clone()), (UploadStatus::Uploading, id(1)));
    assert_eq!(repo.get_owned(&account("ada"), &id(1)).await.unwrap(), Some(created.clone()));
    assert_eq!(repo.get_owned(&account("bob"), &id(1)).await.unwrap(), None, "another account's");
    assert_eq!(repo.get_owned(&account(""), &id(1)).await.unwrap(), None, "nobody's");
    assert_eq!(repo.owner_of(&id(1)).await.unwrap(), Some(account("ada")));
    assert_eq!(repo.get(&id(9)).await.unwrap(), None);

    // Changes move it and each is announced by a newer event.
    let stored = Change {
        status: Some(UploadStatus::Queued),
        size: Some(1000),
        sha256: Some("ab".repeat(32)),
        percent: Some(40),
        ..Change::default()
    };
    let (queued, second) = repo.record(&id(1), stored).await.unwrap();
    assert!(second.id > event.id, "ids increase");
    assert_eq!((queued.status, queued.percent, queued.size), (UploadStatus::Queued, 40, 1000));
    assert_eq!(
        repo.stored_bytes(&account("ada")).await.unwrap(),
        1000,
        "stored bytes have a checksum"
    );
    assert_eq!(repo.stored_bytes(&account("bob")).await.unwrap(), 0);

    // A running job's checkpoint: page texts stored with their events.
    repo.record(&id(1), to(UploadStatus::Processing)).await.unwrap();
    for page in 1..=3 {
        let text = Change {
            page: Some(page),
            page_text: Some(format!("page {page}")),
            attempt: Some(1),
            ..Change::default()
        };
        repo.record(&id(1), text).await.unwrap();
    }
    assert_eq!(repo.pages_done(&id(1)).await.unwrap(), 3);
    let texts = repo.page_texts(&id(1), 1, 10).await.unwrap();
    assert_eq!(texts, [(2, "page 2".to_owned()), (3, "page 3".to_owned())]);

    // A write of another attempt is fenced off, and changes nothing.
    let stale = Change { percent: Some(90), attempt: Some(7), ..Change::default() };
    let refused = repo.record(&id(1), stale).await.unwrap_err();
    assert!(matches!(refused, ChangeError::Refused(Refused::Finished)), "{refused:?}");
    assert_eq!(repo.get(&id(1)).await.unwrap().unwrap().percent, 40);

    // Unfinished jobs for recovery: those that were processing first. (Which uploads
    // still arriving a start may end is each backend's: all of them with one process,
    // only a gone node's with several; `tests/it/nodes.rs` and `restart.rs` check those.)
    let second_upload = new_upload(id(2), "b.txt".into(), None, "2026-01-01T00:00:01.000Z");
    repo.insert(&account("bob"), second_upload, Change::default()).await.unwrap();
    let queued = Change {
        status: Some(UploadStatus::Queued),
        sha256: Some("ef".repeat(32)),
        ..Change::default()
    };
    repo.record(&id(2), queued).await.unwrap();
    let unfinished: Vec<_> = repo.unfinished().await.unwrap();
    let order: Vec<_> =
        unfinished.iter().map(|(owner, u)| (owner.as_str(), u.id.clone())).collect();
    assert_eq!(order, [("ada", id(1)), ("bob", id(2))]);

    // The terminal change spends the checkpoint; nothing may follow it, and that is a
    // refusal, not a failure of the store.
    let (done, _) = repo.record(&id(1), to(UploadStatus::Done)).await.unwrap();
    assert_eq!(done.percent, 100);
    assert_eq!(repo.pages_done(&id(1)).await.unwrap(), 0, "the checkpoint is spent");
    let late = repo.record(&id(1), Change { percent: Some(50), ..Change::default() }).await;
    assert!(matches!(late, Err(ChangeError::Refused(Refused::Finished))), "{late:?}");
    let retry = repo.record(&id(1), Change { retry: true, ..Change::default() }).await;
    assert!(matches!(retry, Err(ChangeError::Refused(Refused::NotRetriable(_)))), "{retry:?}");
    let missing = repo.record(&id(9), to(UploadStatus::Done)).await;
    assert!(matches!(missing, Err(ChangeError::Store(StoreError::NotFound))), "{missing:?}");

    // A failed upload with its bytes can run again, as its next attempt.
    let failed = Change::failed(UploadStatus::Failed, ErrorBody::new(ErrorCode::Timeout, "slow"));
    let third = new_upload(id(3), "c.pdf".into(), None, "2026-01-01T00:00:02.000Z");
    repo.insert(&account("ada"), third, Change::default()).await.unwrap();
    let ahead = repo.record(&id(3), Change { ahead: Some(3), ..Change::default() }).await;
    assert!(matches!(ahead, Err(ChangeError::Refused(Refused::NotQueued))), "{ahead:?}");
    let bytes = Change { sha256: Some("cd".repeat(32)), ..Change::default() };
    repo.record(&id(3), bytes).await.unwrap();
    repo.record(&id(3), failed).await.unwrap();
    let (again, _) =
        repo.record(&id(3), Change { retry: true, ..Change::default() }).await.unwrap();
    assert_eq!((again.status, again.attempt), (UploadStatus::Queued, 2));

    let listed: Vec<_> =
        repo.list(&account("ada")).await.unwrap().into_iter().map(|u| u.id).collect();
    assert_eq!(listed, [id(3), id(1)], "an account's uploads, newest first");

    // Removing an unfinished upload announces it; a finished one just goes.
    let removed = repo.remove(&id(2)).await.unwrap().expect("an unfinished upload's error");
    assert!(removed.terminal);
    assert!(repo.remove(&id(1)).await.unwrap().is_none(), "done already said everything");
    assert_eq!(repo.get(&id(1)).await.unwrap(), None);
    assert!(matches!(repo.remove(&id(1)).await, Err(StoreError::NotFound)));
    let existing = repo.existing(&[id(1), id(2), id(3)]).await.unwrap();
    assert_eq!(existing, [id(3)].into(), "what the blob sweep keeps");
    repo.ping().await.unwrap();
}
