//! Graceful shutdown: streams end, running jobs get the grace period, and what is still
//! running after it resumes on the next start.

use crate::common;

use common::{post_file, state_in, SseReader, TestServer};
use shared::{UploadId, UploadStatus};
use testkit::pdf as fixtures;

/// Uploads a long PDF and returns its id once extraction has visibly started.
async fn upload_and_wait_for_first_page(server: &TestServer, pages: u32) -> UploadId {
    let mut all =
        SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());
    post_file(&server.client, &server.base(), "long.pdf", &fixtures::pdf(pages)).await;
    let events = all.until(|e| e.name() == "progress" && e.json()["page"] == 1).await;
    let id = events.last().unwrap().json()["upload_id"].as_str().unwrap().to_owned();
    UploadId::parse(&id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_finishes_within_the_grace_period() {
    let mut server =
        TestServer::start_with(|c| c.shutdown_grace = std::time::Duration::from_secs(60)).await;
    let id = upload_and_wait_for_first_page(&server, 300).await;
    server.shut_down().await;
    let upload = server.state.repo.get(&id).await.unwrap().unwrap();
    assert_eq!(upload.status, UploadStatus::Done, "shutdown waited for the job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_still_running_after_the_grace_period_resumes_on_the_next_start() {
    let mut server =
        TestServer::start_with(|c| c.shutdown_grace = std::time::Duration::from_secs(0)).await;
    let id = upload_and_wait_for_first_page(&server, 300).await;
    server.shut_down().await;
    let upload = server.state.repo.get(&id).await.unwrap().unwrap();
    assert_eq!(upload.status, UploadStatus::Processing, "stopped, not failed");

    // The next start on the same data directory picks it up and finishes it.
    let restarted = state_in(&server.dir, |_| {}).await;
    let owner = restarted.repo.owner_of(&id).await.unwrap().unwrap();
    let mut events = restarted.bus.subscribe(owner.as_str());
    while restarted.repo.get(&id).await.unwrap().unwrap().status != UploadStatus::Done {
        events.recv().await.unwrap();
    }
    let text = restarted.repo.get(&id).await.unwrap().unwrap();
    assert_eq!((text.pages, text.percent), (Some(300), 100));
}
