//! Replay under stress: clients that reconnect at random points, and a client that stops
//! reading, end up with exactly the sequence of a client that never missed anything.

use crate::common;

use common::{named, post_file, post_streaming, Sse, SseReader, TestServer};
use testkit::pdf as fixtures;

async fn upload(server: &TestServer, name: &str, bytes: Vec<u8>) {
    post_file(&server.client, &server.base(), name, &bytes).await;
}

fn terminal(event: &Sse) -> bool {
    matches!(event.name(), "done" | "error")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reconnecting_at_random_points_see_exactly_the_steady_sequence() {
    let server = TestServer::start().await;
    let uploads = 8;
    // Both clients start before anything happened, so both start from the same (empty)
    // state. A stream has taken its starting point once it sends `retry:` (the response's
    // headers can come before that), so both wait for it before anything is uploaded.
    let reference = tokio::spawn({
        let (url, client) = (server.url("/api/events"), server.client.clone());
        async move { SseReader::new(client.get(url).send().await.unwrap()) }
    })
    .await
    .unwrap();
    let mut flaky =
        SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());
    let mut reference = reference;
    for reader in [&mut reference, &mut flaky] {
        assert_eq!(reader.next().await.unwrap().retry, Some(2000), "the stream has started");
    }

    let uploading = async {
        for i in 0..uploads {
            let bytes =
                if i % 2 == 0 { fixtures::pdf(15) } else { format!("text {i}").into_bytes() };
            upload(&server, &format!("file-{i}"), bytes).await;
        }
    };
    let reading_reference = async {
        let mut reader = reference;
        let mut finished = 0;
        let events = reader
            .until(|e| {
                finished += usize::from(terminal(e));
                finished == uploads
            })
            .await;
        named(&events).into_iter().cloned().collect::<Vec<_>>()
    };
    let reading_flaky = async {
        // A fixed-seed generator: the same "random" disconnects on every run.
        let mut seed: u64 = 0x5eed_1234;
        let mut next = move |bound: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            1 + (seed >> 33) % bound
        };
        let mut seen: Vec<Sse> = Vec::new();
        let mut reconnects = 0;
        let mut finished = 0;
        loop {
            let mut budget = next(12);
            let batch = flaky
                .until(|e| {
                    if e.event.is_some() {
                        budget -= 1;
                    }
                    finished += usize::from(terminal(e));
                    budget == 0 || finished == uploads
                })
                .await;
            seen.extend(named(&batch).into_iter().cloned());
            if finished == uploads {
                break;
            }
            // Hang up and come back with the last id, by header or by query, alternately.
            let last = seen.last().map_or(0, |e| e.id.unwrap());
            reconnects += 1;
            let request = if reconnects % 2 == 0 {
                server
                    .client
                    .get(server.url("/api/events"))
                    .header("Last-Event-ID", last.to_string())
            } else {
                server.client.get(server.url(&format!("/api/events?last_event_id={last}")))
            };
            flaky = SseReader::new(request.send().await.unwrap());
        }
        (seen, reconnects)
    };
    let ((), steady, (flaky, reconnects)) =
        tokio::join!(uploading, reading_reference, reading_flaky);
    assert!(reconnects >= 10, "the test really reconnected ({reconnects} times)");
    assert_eq!(flaky.len(), steady.len());
    assert_eq!(flaky, steady, "same events, same order, no gap, no duplicate");
}

#[tokio::test]
async fn a_subscriber_that_falls_out_of_the_buffer_catches_up_from_the_log() {
    use shared::{Stage, UploadId};
    use uplink::domain::lifecycle::{new_upload, Change};

    let dir = tempfile::tempdir().unwrap();
    let state = common::state_in(&dir, |c| c.event_buffer = 4).await;
    let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap();
    state
        .recorder
        .create(
            &shared::AccountId::new("owner-1"),
            new_upload(id.clone(), "a".into(), None, "t"),
            Change::default(),
        )
        .await
        .unwrap();

    let mut stream = common::DirectStream::owner(&state, "owner-1", None);
    let mut ids = Vec::new();
    // retry, then the snapshot (event 1): after it, the stream is live.
    while ids.is_empty() {
        ids.extend(stream.next_ids().await.unwrap());
    }

    // 59 events while nobody polls the stream: about 15 times its buffer.
    for percent in 1..60 {
        let change = Change {
            stage: Some(Stage::Receiving),
            percent: Some(percent / 2),
            ..Change::default()
        };
        state.recorder.record(&id, change).await.unwrap();
    }
    while ids.len() < 60 {
        ids.extend(stream.next_ids().await.unwrap());
    }
    assert_eq!(ids, (1..=60).collect::<Vec<i64>>(), "every event once, in order, none skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_past_retention_are_compacted_and_old_ids_get_the_snapshot() {
    let server = TestServer::start_with(|c| c.event_retention = std::time::Duration::ZERO).await;
    let created = post_streaming(&server.client, &server.base(), "old.txt", b"old").await;
    let history = common::read_sse(created, |_| false).await;
    let history = named(&history);
    assert_eq!(history.last().unwrap().name(), "done");
    let first = history[0].id.unwrap();

    assert_eq!(server.state.compact_events().await.unwrap(), history.len() as u64);

    // Resuming from before the horizon: the present state, not a partial replay.
    let resumed = server
        .client
        .get(server.url("/api/events"))
        .header("Last-Event-ID", first.to_string())
        .send()
        .await
        .unwrap();
    let mut resumed = SseReader::new(resumed);
    let snapshot = resumed.until(|e| e.event.is_some()).await;
    let snapshot = snapshot.last().unwrap();
    assert_eq!(snapshot.name(), "done");
    assert_eq!(snapshot.json()["upload"]["filename"], "old.txt");

    // The upload itself and its bytes are untouched.
    let id = snapshot.json()["upload_id"].as_str().unwrap().to_owned();
    let file =
        server.client.get(server.url(&format!("/api/uploads/{id}/file"))).send().await.unwrap();
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"old");
}
