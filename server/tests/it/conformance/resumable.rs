//! [`ResumableRepo`]: a resumable upload's length (set once when deferred), metadata
//! and expiry, and the unfinished ones that expired.

use shared::UploadStatus;
use uplink::{
    domain::{lifecycle::new_upload, Change},
    store::{MetadataRepo, Partial, Resumable, ResumableRepo},
};

use super::{account, id};

pub async fn suite<R: MetadataRepo + ResumableRepo + ?Sized>(repo: &R) {
    let (early, now, later) =
        ("2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z");
    for n in 1..=3 {
        let upload = new_upload(id(n), format!("{n}.bin"), None, early);
        repo.insert(&account("ada"), upload, Change::default()).await.unwrap();
    }
    let deferred = Resumable {
        length: None,
        metadata: "filename YS5iaW4=".into(),
        expires_at: now.into(),
        concat: None,
    };
    repo.create_resumable(&id(1), &deferred).await.unwrap();
    assert_eq!(repo.resumable(&id(1)).await.unwrap(), Some(deferred.clone()));
    assert_eq!(repo.resumable(&id(3)).await.unwrap(), None, "a multipart upload is not resumable");

    assert!(repo.set_length(&id(1), 4096).await.unwrap(), "a deferred length is set once");
    assert!(!repo.set_length(&id(1), 1).await.unwrap(), "and only once");
    assert_eq!(repo.resumable(&id(1)).await.unwrap().unwrap().length, Some(4096));

    let known = Resumable {
        length: Some(10),
        metadata: String::new(),
        expires_at: later.into(),
        concat: Some("final;/api/tus/a /api/tus/b".into()),
    };
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
    assert_eq!(repo.resumable(&id(2)).await.unwrap().unwrap(), known, "a final keeps its concat");
    partials(repo, (early, now, later)).await;
}

/// Partial uploads: kept apart from uploads, with their own offset, counted among the
/// unfinished, expiring, and known to the orphan sweep.
async fn partials<R: MetadataRepo + ResumableRepo + ?Sized>(
    repo: &R,
    (early, now, later): (&str, &str, &str),
) {
    let resumable =
        Resumable { length: None, metadata: String::new(), expires_at: now.into(), concat: None };
    let partial = Partial { owner: account("ada"), resumable, stored: 0, created_at: early.into() };
    repo.create_partial(&id(7), &partial).await.unwrap();
    assert_eq!(repo.partial(&id(7)).await.unwrap(), Some(partial.clone()));
    assert_eq!(repo.partial(&id(1)).await.unwrap(), None, "an upload is not a partial");
    assert_eq!(repo.resumable(&id(7)).await.unwrap(), None, "nor a partial an upload");
    assert!(repo.get(&id(7)).await.unwrap().is_none(), "a partial is no upload");
    assert_eq!(repo.unfinished_of(&account("ada")).await.unwrap(), 2);

    repo.set_partial_stored(&id(7), 4).await.unwrap();
    assert!(repo.set_length(&id(7), 8).await.unwrap(), "a partial's deferred length is set once");
    assert!(!repo.set_length(&id(7), 9).await.unwrap());
    let got = repo.partial(&id(7)).await.unwrap().unwrap();
    assert_eq!((got.stored, got.resumable.length), (4, Some(8)));
    let before = repo.stored_bytes(&account("bob")).await.unwrap();
    assert!(repo.stored_bytes(&account("ada")).await.unwrap() >= 4, "its bytes count");
    assert_eq!(before, 0, "for its owner only");

    assert_eq!(repo.expired(now).await.unwrap(), [id(7)], "partials expire too");
    repo.set_expiry(&id(7), later).await.unwrap();
    assert!(repo.expired(now).await.unwrap().is_empty(), "moved on by its last bytes");
    let known = repo.existing(&[id(7), id(9)]).await.unwrap();
    assert!(known.contains(&id(7)) && !known.contains(&id(9)), "its blob is no orphan");

    assert!(repo.remove_partial(&id(7)).await.unwrap());
    assert!(!repo.remove_partial(&id(7)).await.unwrap(), "removed once");
    assert_eq!(repo.partial(&id(7)).await.unwrap(), None);
    assert_eq!(repo.unfinished_of(&account("ada")).await.unwrap(), 1);
}
