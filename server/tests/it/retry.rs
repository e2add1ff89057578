//! Retrying: a cancelled job (running or queued) runs again from its stored bytes as the
//! upload's next attempt, to `done` with its whole text; each attempt's events are in
//! order with one terminal event; a finished upload cannot be retried, nor another's.

use crate::common;

use testkit::pdf as fixtures;

use common::{assert_ordered, get_json, named, post_file, Account, Sse, SseReader, TestServer};

async fn post(server: &TestServer, account: &Account, id: &str, action: &str) -> reqwest::Response {
    let url = server.url(&format!("/api/uploads/{id}/{action}"));
    account.client.post(url).send().await.unwrap()
}

fn attempt(event: &Sse, current: &mut u64) -> u64 {
    if event.name() == "progress" {
        *current = event.json()["attempt"].as_u64().unwrap();
    }
    *current
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_jobs_run_again_to_done_as_their_next_attempt() {
    let server = TestServer::start_with(|c| c.workers = Some(1)).await;
    let alice = &server.user;
    let mut all = SseReader::new(alice.client.get(server.url("/api/events")).send().await.unwrap());
    let running = post_file(&alice.client, &server.base(), "long.pdf", &fixtures::pdf(400)).await;
    let running = running["id"].as_str().unwrap().to_owned();
    let queued = post_file(&alice.client, &server.base(), "next.pdf", &fixtures::pdf(5)).await;
    let queued = queued["id"].as_str().unwrap().to_owned();
    let mut seen = all
        .until(|e| {
            e.name() == "progress" && e.json()["upload_id"] == running && e.json()["page"] == 1
        })
        .await;
    for id in [&queued, &running] {
        assert_eq!(post(&server, alice, id, "cancel").await.status(), 200);
    }

    for id in [&running, &queued] {
        let response = post(&server, alice, id, "retry").await;
        assert_eq!(response.status(), 200);
        let upload: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            (upload["status"].as_str(), upload["attempt"].as_u64()),
            (Some("queued"), Some(2))
        );
        // The bar starts over where processing starts: the bytes are all stored.
        assert_eq!((upload["percent"].as_u64(), upload["error"].is_null()), (Some(40), true));
    }
    let mut done = 0;
    seen.extend(
        all.until(|e| {
            done += usize::from(e.name() == "done");
            done == 2
        })
        .await,
    );
    let seen = named(&seen);

    for (id, pages) in [(&running, 400), (&queued, 5)] {
        let own: Vec<&Sse> =
            seen.iter().copied().filter(|e| e.json()["upload_id"] == *id).collect();
        let mut current = 1;
        let attempts: Vec<u64> = own.iter().map(|e| attempt(e, &mut current)).collect();
        assert!(
            attempts.windows(2).all(|w| w[0] <= w[1]),
            "attempts never interleave: {attempts:?}"
        );
        for n in [1, 2] {
            let run: Vec<&Sse> =
                own.iter().zip(&attempts).filter(|(_, a)| **a == n).map(|(e, _)| *e).collect();
            assert_ordered(&run);
            let terminal: Vec<&str> =
                run.iter().map(|e| e.name()).filter(|n| *n != "progress").collect();
            let expected = if n == 1 { "error" } else { "done" };
            assert_eq!(terminal, [expected], "attempt {n} of {id}: one terminal event");
        }
        let second = own.iter().zip(&attempts).find(|(_, a)| **a == 2).unwrap().0;
        assert_eq!(second.json()["status"], "queued");
        assert_eq!(second.json()["percent"], 40);
        assert_eq!(second.json()["upload"]["attempt"], 2, "the new attempt introduces itself");

        let upload = get_json(&alice.client, server.url(&format!("/api/uploads/{id}"))).await;
        assert_eq!(
            (upload["status"].as_str(), upload["pages"].as_u64()),
            (Some("done"), Some(pages))
        );
        let text = alice.client.get(server.url(&format!("/api/uploads/{id}/text"))).send().await;
        let text = text.unwrap().text().await.unwrap();
        let texts: Vec<&str> = text.split('\x0c').collect();
        assert_eq!(texts.len(), pages as usize, "every page, once");
        for (i, page) in texts.iter().enumerate() {
            assert!(page.contains(&fixtures::page_marker(i as u32 + 1)), "page {}", i + 1);
        }
    }

    // Done: nothing to retry. Not yours: not found.
    let response = post(&server, alice, &queued, "retry").await;
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_state");
    let bob = Account::register(&server.base(), "bob").await;
    assert_eq!(post(&server, &bob, &queued, "retry").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_broken_file_fails_again_once() {
    let server = TestServer::start().await;
    let alice = &server.user;
    let mut all = SseReader::new(alice.client.get(server.url("/api/events")).send().await.unwrap());
    let broken =
        post_file(&alice.client, &server.base(), "broken.pdf", b"%PDF-1.7 not really").await;
    let id = broken["id"].as_str().unwrap().to_owned();
    all.until(|e| e.name() == "error").await;
    assert_eq!(post(&server, alice, &id, "retry").await.status(), 200);
    let again = all.until(|e| e.name() == "error").await;
    let again = named(&again);
    assert_eq!(again.first().unwrap().json()["attempt"], 2);
    assert_eq!(again.last().unwrap().json()["code"], "corrupt");
    let upload = get_json(&alice.client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!((upload["status"].as_str(), upload["attempt"].as_u64()), (Some("failed"), Some(2)));
}
