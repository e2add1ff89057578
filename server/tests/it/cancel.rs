//! Cancelling: a running job stops and frees its worker, a queued one never starts, the
//! bytes stay downloadable, and an upload that already finished cannot be cancelled.

use crate::common;

use shared::UploadStatus;
use testkit::pdf as fixtures;

use common::{get_json, named, post_file, Account, Sse, SseReader, TestServer};

fn about<'a>(events: &'a [&'a Sse], id: &str) -> Vec<&'a Sse> {
    events.iter().copied().filter(|e| e.json()["upload_id"] == id).collect()
}

async fn cancel(server: &TestServer, account: &Account, id: &str) -> reqwest::Response {
    account.client.post(server.url(&format!("/api/uploads/{id}/cancel"))).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_and_queued_jobs_stop_and_keep_their_bytes() {
    let server = TestServer::start_with(|c| c.workers = Some(1)).await;
    let alice = &server.user;
    let mut all = SseReader::new(alice.client.get(server.url("/api/events")).send().await.unwrap());
    let long = fixtures::pdf(3000);
    let running = post_file(&alice.client, &server.base(), "long.pdf", &long).await;
    let running = running["id"].as_str().unwrap().to_owned();
    let queued = post_file(&alice.client, &server.base(), "next.pdf", &fixtures::pdf(2)).await;
    let queued = queued["id"].as_str().unwrap().to_owned();
    let mut seen = all
        .until(|e| {
            e.name() == "progress" && e.json()["upload_id"] == running && e.json()["page"] == 1
        })
        .await;

    // The queued one first, while the single worker is busy: it must never start.
    let response = cancel(&server, alice, &queued).await;
    assert_eq!(response.status(), 200);
    let upload: serde_json::Value = response.json().await.unwrap();
    assert_eq!(upload["status"], UploadStatus::Cancelled.as_str());
    let response = cancel(&server, alice, &running).await;
    assert_eq!(response.status(), 200);

    // The worker is free again: a file sent now is processed to the end.
    let last = post_file(&alice.client, &server.base(), "last.txt", b"hello").await;
    let last = last["id"].as_str().unwrap().to_owned();
    seen.extend(all.until(|e| e.name() == "done" && e.json()["upload_id"] == last).await);
    let seen = named(&seen);

    for id in [&running, &queued] {
        let events = about(&seen, id);
        let error = events.iter().position(|e| e.name() == "error").expect("an error event");
        assert_eq!(events[error].json()["code"], "cancelled");
        assert_eq!(error, events.len() - 1, "nothing follows the cancel of {id}");
    }
    let queued_events = about(&seen, &queued);
    assert!(
        queued_events.iter().all(|e| e.json()["stage"] != "validating"),
        "the queued job never started"
    );
    let pages_after_cancel =
        about(&seen, &running).iter().filter(|e| e.json()["page"].is_u64()).count();
    assert!(pages_after_cancel < 3000, "the running job stopped early");

    // The bytes stay.
    let file =
        alice.client.get(server.url(&format!("/api/uploads/{running}/file"))).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), long.as_slice());
    let upload = get_json(&alice.client, server.url(&format!("/api/uploads/{running}"))).await;
    assert_eq!(upload["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_cancels_and_only_an_unfinished_upload() {
    let server = TestServer::start().await;
    let alice = &server.user;
    let mut all = SseReader::new(alice.client.get(server.url("/api/events")).send().await.unwrap());
    let done = post_file(&alice.client, &server.base(), "a.txt", b"hello").await;
    let done = done["id"].as_str().unwrap().to_owned();
    all.until(|e| e.name() == "done").await;

    let response = cancel(&server, alice, &done).await;
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_state");
    assert!(body["message"].as_str().unwrap().contains("done"), "{body}");

    let bob = Account::register(&server.base(), "bob").await;
    assert_eq!(cancel(&server, &bob, &done).await.status(), 404, "not Bob's to cancel");
    let unauthenticated = reqwest::Client::new()
        .post(server.url(&format!("/api/uploads/{done}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_still_arriving_is_cancelled_and_its_bytes_are_not_kept() {
    let server = TestServer::start().await;
    let alice = &server.user;
    let mut all = SseReader::new(alice.client.get(server.url("/api/events")).send().await.unwrap());
    let (sending, receiving) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let (content_type, body) = common::multipart("file", "half.bin", &[7u8; 64 * 1024]);
    let post = tokio::spawn({
        let (client, url) = (alice.client.clone(), server.url("/api/uploads"));
        async move {
            let chunks = futures_util::stream::unfold(receiving, |mut receiving| async move {
                receiving.recv().await.map(|chunk| (chunk, receiving))
            });
            client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .unwrap()
        }
    });
    sending.send(Ok(body[..body.len() / 2].to_vec())).await.unwrap();
    let introduced = all.until(|e| e.data.contains("half.bin")).await;
    let id = introduced.last().unwrap().json()["upload_id"].as_str().unwrap().to_owned();

    let response = cancel(&server, alice, &id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["status"], "cancelled");

    // The rest arrives after the cancel: the request is refused, nothing is stored.
    sending.send(Ok(body[body.len() / 2..].to_vec())).await.unwrap();
    drop(sending);
    let answer = post.await.unwrap();
    assert_eq!(answer.status(), 409);
    assert_eq!(answer.json::<serde_json::Value>().await.unwrap()["code"], "invalid_state");
    let upload = get_json(&alice.client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!((upload["status"].as_str(), upload["sha256"].as_str()), (Some("cancelled"), None));
    let file =
        alice.client.get(server.url(&format!("/api/uploads/{id}/file"))).send().await.unwrap();
    assert_eq!(file.status(), 404, "the partial bytes are gone");

    // With no whole file to run again, it cannot be retried.
    let retry =
        alice.client.post(server.url(&format!("/api/uploads/{id}/retry"))).send().await.unwrap();
    assert_eq!(retry.status(), 409);
    let refused: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(refused["code"], "invalid_state");
    assert!(
        refused["message"].as_str().unwrap().contains("cancelled before all its bytes were stored"),
        "{refused}"
    );

    // Its history: one terminal event, the cancel, and nothing after it.
    let timeline =
        get_json(&alice.client, server.url(&format!("/api/uploads/{id}/timeline"))).await;
    let names: Vec<&str> =
        timeline.as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(names.last(), Some(&"error"));
    assert_eq!(names.iter().filter(|n| **n != "progress").count(), 1, "{names:?}");
    assert_eq!(timeline.as_array().unwrap().last().unwrap()["data"]["code"], "cancelled");
}
