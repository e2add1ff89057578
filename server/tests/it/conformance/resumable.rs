//! [`ResumableRepo`]: a resumable upload's length (set once when deferred), metadata
//! and expiry, and the unfinished ones that expired.

use shared::UploadStatus;
use uplink::{
    domain::{lifecycle::new_upload, Change},
    store::{MetadataRepo, Resumable, ResumableRepo},
};

use super::{account, id};

pub async fn suite<R: MetadataRepo + ResumableRepo + ?Sized>(repo: &R) {
    let (early, now, later) =
        ("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z");
    for n in 1..=3 {
        let upload = new_upload(id(n), format!("{n}.bin"), None, early);
        repo.insert(&account("ada"), upload, Change::default()).await.unwrap();
    }
    let deferred =
        Resumable { length: None, metadata: "filename YS5iaW4=".into(), expires_at: now.into() };
    repo.create_resumable(&id(1), &deferred).await.unwrap();
    assert_eq!(repo.resumable(&id(1)).await.unwrap(), Some(deferred.clone()));
    assert_eq!(repo.resumable(&id(3)).await.unwrap(), None, "a multipart upload is not resumable");

    assert!(repo.set_length(&id(1), 4096).await.unwrap(), "a deferred length is set once");
    assert!(!repo.set_length(&id(1), 1).await.unwrap(), "and only once");
    assert_eq!(repo.resumable(&id(1)).await.unwrap().unwrap().length, Some(4096));

    let known = Resumable { length: Some(10), metadata: String::new(), expires_at: later.into() };
    repo.create_resumable(&id(2), &known).await.unwrap();
    assert_eq!(repo.expired(now).await.unwrap(), [id(1)], "expired by now, still arriving");
    repo.set_expiry(&id(1), later).await.unwrap();
    assert!(repo.expired(now).await.unwrap().is_empty(), "moved on by its last bytes");

    assert_eq!(repo.unfinished_of(&account("ada")).await.unwrap(), 2);
    assert_eq!(repo.unfinished_of(&account("bob")).await.unwrap(), 0);
    // One that finished arriving does not expire.
    let queued = Change { status: Some(UploadStatus::Queued), ..Change::default() };
    repo.record(&id(2), queued).await.unwrap();
    assert_eq!(repo.expired(later).await.unwrap(), [id(1)]);
    assert_eq!(repo.unfinished_of(&account("ada")).await.unwrap(), 1, "one still arriving");
}
