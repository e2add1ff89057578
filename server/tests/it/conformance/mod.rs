//! The storage seams' conformance suites: one generic function per trait, written
//! against the trait alone, so every implementation passes the same checks. The
//! embedded backends (SQLite, the filesystem, the in-memory queue) run them here; the
//! Postgres and object-storage backends of a multi-node deployment must pass them
//! unchanged.

mod accounts;
mod blobs;
mod jobs;
mod log;
mod metadata;
mod resumable;

use std::{sync::Arc, time::Duration};

use uplink::store::{FsBlobStore, MemoryQueue, PgRepo, SqliteRepo};

async fn sqlite() -> (tempfile::TempDir, Arc<SqliteRepo>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Arc::new(SqliteRepo::open(dir.path()).await.unwrap());
    (dir, repo)
}

#[tokio::test]
async fn sqlite_is_a_metadata_repo() {
    let (_dir, repo) = sqlite().await;
    metadata::suite(&*repo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_is_an_event_log() {
    let (_dir, repo) = sqlite().await;
    log::suite(repo.clone(), repo).await;
}

#[tokio::test]
async fn sqlite_is_an_account_repo() {
    let (_dir, repo) = sqlite().await;
    accounts::suite(&*repo).await;
}

#[tokio::test]
async fn sqlite_is_a_resumable_repo() {
    let (_dir, repo) = sqlite().await;
    resumable::suite(&*repo).await;
}

/// A repo on a database of its own in the test cluster.
async fn postgres() -> Arc<PgRepo> {
    let url = testkit::postgres::fresh_database().await;
    Arc::new(PgRepo::open(&url, 8, "conformance", Duration::from_secs(60)).await.unwrap())
}

#[tokio::test]
async fn postgres_is_a_metadata_repo() {
    metadata::suite(&*postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_an_event_log() {
    let repo = postgres().await;
    log::suite(repo.clone(), repo).await;
}

#[tokio::test]
async fn postgres_is_an_account_repo() {
    accounts::suite(&*postgres().await).await;
}

#[tokio::test]
async fn postgres_is_a_resumable_repo() {
    resumable::suite(&*postgres().await).await;
}

#[tokio::test]
async fn postgres_is_a_job_queue() {
    jobs::suite(&*postgres().await).await;
}

#[tokio::test]
async fn the_filesystem_is_a_blob_store() {
    let dir = tempfile::tempdir().unwrap();
    blobs::suite(&FsBlobStore::open_dir(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn s3_is_a_blob_store() {
    let bucket = testkit::s3::fresh_bucket().await;
    blobs::suite(&crate::common::s3_store(&bucket, "conformance").await).await;
    assert_eq!(bucket.keys().await, Vec::<String>::new(), "every object removed");
    let left = bucket.multipart_uploads().await;
    assert!(left.is_empty(), "no multipart upload left behind: {left:?}");
}

#[tokio::test]
async fn memory_is_a_job_queue() {
    jobs::suite(&MemoryQueue::default()).await;
}

/// An account of a suite.
fn account(name: &str) -> shared::AccountId {
    shared::AccountId::new(name)
}

/// The `n`th upload id of a suite.
fn id(n: u32) -> shared::UploadId {
    shared::UploadId::parse(&format!("0191c1d2-6b0e-7a3c-9f00-{n:012}")).unwrap()
}
