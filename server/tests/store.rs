//! The SQLite store under concurrent writers: a change that reads before it writes must
//! wait for another connection's write, never fail because one happened in between.

use shared::{Stage, UploadId};
use uplink::{
    store::{MetadataRepo, SqliteRepo},
    uploads::lifecycle::{new_upload, Change},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known race: see SqliteRepo::write_tx"]
async fn changes_never_fail_because_another_connection_wrote_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::sync::Arc::new(SqliteRepo::open(dir.path()).await.unwrap());
    let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-0000000000aa").unwrap();
    let other = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-0000000000bb").unwrap();
    repo.insert("owner", new_upload(id.clone(), "a".into(), None, "t"), Change::default())
        .await
        .unwrap();

    // Each record reads the upload, then writes; the other task keeps writing elsewhere.
    let changes = tokio::spawn({
        let (repo, id) = (repo.clone(), id.clone());
        async move {
            for i in 0..400u32 {
                let change = Change {
                    stage: Some(Stage::Receiving),
                    bytes_received: Some(u64::from(i)),
                    ..Change::default()
                };
                repo.record(&id, change).await.expect("a change waits for the other writer");
            }
        }
    });
    let other_writes = tokio::spawn({
        let repo = repo.clone();
        async move {
            for _ in 0..400 {
                repo.clear_page_texts(&other).await.unwrap();
            }
        }
    });
    changes.await.unwrap();
    other_writes.await.unwrap();
}
