//! A client that stops reading: it slows nobody (the others' event latency is measured
//! with and without it), and it gets every event, whether it reads again or is
//! disconnected and reconnects. (Its memory cost: `memory.rs`.)

use crate::common;

use std::time::Duration;

use common::{churn, named, RawSse, Sse, SseReader, TestServer};

const UPLOAD: &str = "0191c1d2-6b0e-7a3c-9f00-00000000000a";

fn terminal(event: &Sse) -> bool {
    matches!(event.name(), "done" | "error")
}

/// Reads every event until the upload's terminal one; it must not be cut off.
async fn read_all(mut reader: SseReader) -> Vec<Sse> {
    let events: Vec<Sse> = named(&reader.until(terminal).await).into_iter().cloned().collect();
    assert!(events.last().is_some_and(terminal), "the steady stream ended early");
    events
}

async fn steady_reader(server: &TestServer) -> SseReader {
    let mut reader =
        SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());
    // The stream sends `retry:` only once it is subscribed and has taken its snapshot:
    // from here on nothing is missed, and the snapshot holds no upload yet.
    assert!(reader.next().await.unwrap().retry.is_some());
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_again_gets_every_event_in_order() {
    // A tiny in-memory buffer, so the stalled client certainly falls out of it.
    let server = TestServer::start_with(|c| c.event_buffer = 16).await;
    let mut stalled = RawSse::connect(server.addr, "/api/events", &server.user.cookie).await;
    assert!(stalled.next().await.unwrap().retry.is_some());
    let steady = tokio::spawn(read_all(steady_reader(&server).await));

    churn(&server.state, server.user.id.as_str(), UPLOAD, 3000, 0).await;
    // The steady client has everything while the stalled one has read nothing more.
    let steady = steady.await.unwrap();
    assert_eq!(steady.len(), 3002);

    let mut caught_up = Vec::new();
    while !caught_up.iter().any(terminal) {
        let event = stalled.next().await.expect("the stalled connection stays open");
        caught_up.push(event);
    }
    let caught_up: Vec<Sse> = named(&caught_up).into_iter().cloned().collect();
    assert!(caught_up == steady, "every event, in order, exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_is_closed_and_its_client_replays_what_it_missed() {
    let server = TestServer::start_with(|c| {
        c.write_timeout = Duration::from_secs(2);
        c.event_buffer = 64;
    })
    .await;
    let mut closed = server.state.stalled_connections.subscribe();
    let mut stalled = RawSse::connect(server.addr, "/api/events", &server.user.cookie).await;
    assert!(stalled.next().await.unwrap().retry.is_some());
    // The steady client reads all along, so its writes never stall.
    let steady = tokio::spawn(read_all(steady_reader(&server).await));

    // 2,500 events of 4 KiB: more than the kernel's send buffer (up to 4 MiB by default
    // on Linux) and hyper's write buffer can absorb.
    churn(&server.state, server.user.id.as_str(), UPLOAD, 2500, 4096).await;
    let steady = steady.await.unwrap();

    // Far more than fits in the socket buffers went by, so its writes stall, and after
    // the write timeout the server hangs up.
    tokio::time::timeout(Duration::from_secs(60), closed.wait_for(|n| *n >= 1))
        .await
        .expect("the server closes a connection whose client stopped reading")
        .unwrap();

    // What reached the socket before the close, then the end of the stream.
    let mut before = Vec::new();
    while let Some(event) = stalled.next().await {
        before.push(event);
    }
    let before: Vec<Sse> = named(&before).into_iter().cloned().collect();
    assert!(before.len() < steady.len(), "the stalled client missed events");
    let last = before.last().and_then(|e| e.id).unwrap_or(0);

    // It reconnects as an EventSource would and replays the rest.
    let resumed = server
        .client
        .get(server.url("/api/events"))
        .header("Last-Event-ID", last.to_string())
        .send()
        .await
        .unwrap();
    let rest = SseReader::new(resumed).until(terminal).await;
    let mut all = before;
    all.extend(named(&rest).into_iter().cloned());
    let ids = |events: &[Sse]| events.iter().map(|e| e.id.unwrap()).collect::<Vec<_>>();
    assert_eq!(ids(&all), ids(&steady), "no gap and no duplicate across the forced reconnect");
    let differ = all.iter().zip(&steady).find(|(a, b)| a != b);
    assert!(differ.is_none(), "and the same events: {differ:?}");
}

/// Publishes `count` events one at a time and waits for `reader` to receive each before
/// the next: every figure is one event's full trip, from the change to the client.
async fn lockstep(
    server: &TestServer,
    reader: &mut SseReader,
    id: &str,
    count: u64,
) -> Vec<Duration> {
    use shared::{Stage, UploadId};
    use uplink::domain::lifecycle::{new_upload, Change};
    let upload_id = UploadId::parse(id).unwrap();
    let upload = new_upload(upload_id.clone(), "lockstep.bin".into(), None, "t");
    let introduce = Change { introduce: true, ..Change::default() };
    server.state.recorder.create(&server.user.id, upload, introduce).await.unwrap();
    let mut trips = Vec::new();
    for i in 1..=count {
        let started = std::time::Instant::now();
        let change = Change {
            stage: Some(Stage::Receiving),
            bytes_received: Some(i),
            bytes_total: Some(count),
            ..Change::default()
        };
        server.state.recorder.record(&upload_id, change).await.unwrap();
        let this = |e: &Sse| {
            e.name() == "progress" && e.json()["upload_id"] == id && e.json()["bytes_received"] == i
        };
        let seen = reader.until(this).await;
        assert!(seen.last().is_some_and(this), "the stream ended early");
        trips.push(started.elapsed());
    }
    trips
}

fn median(mut trips: Vec<Duration>) -> Duration {
    trips.sort();
    trips[trips.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_leaves_the_others_latency_unchanged() {
    // The write timeout is far away: the stalled connection stays open and stalled
    // throughout the second measurement.
    let server = TestServer::start_with(|c| {
        c.write_timeout = Duration::from_secs(600);
        c.event_buffer = 64;
    })
    .await;
    let mut steady = steady_reader(&server).await;
    let alone =
        median(lockstep(&server, &mut steady, "0191c1d2-6b0e-7a3c-9f00-0000000000b1", 300).await);

    let mut stalled = RawSse::connect(server.addr, "/api/events", &server.user.cookie).await;
    assert!(stalled.next().await.unwrap().retry.is_some());
    // 10 MB the stalled client never reads: its socket (4 KiB receive buffer) and the
    // server's send buffer are full, and the server's writes to it are pending.
    let draining = tokio::spawn(read_all(steady));
    churn(&server.state, server.user.id.as_str(), UPLOAD, 2500, 4096).await;
    let drained = draining.await.unwrap();
    let mut steady = steady_reader(&server).await;
    let beside = lockstep(&server, &mut steady, "0191c1d2-6b0e-7a3c-9f00-0000000000b2", 300);
    // A hub that waited on its slowest subscriber would never deliver: fail, not hang.
    let beside = tokio::time::timeout(Duration::from_secs(60), beside)
        .await
        .expect("a stalled client held up the others' events");
    let beside = median(beside);

    eprintln!("median event latency, commit to client: alone {alone:?}, beside a stalled client {beside:?}");
    // A generous bound: a shared machine's noise passes, a client that blocked the hub
    // or the publisher (seconds, or never) does not.
    assert!(
        beside <= alone * 3 + Duration::from_millis(5),
        "latency rose from {alone:?} to {beside:?} beside a stalled client"
    );

    // And the stalled client, reading again, still receives everything it missed.
    let mut caught_up = Vec::new();
    while !caught_up.iter().any(terminal) {
        caught_up.push(stalled.next().await.expect("the stalled connection stays open"));
    }
    let caught_up: Vec<Sse> = named(&caught_up).into_iter().cloned().collect();
    let first = caught_up.iter().position(|e| e.id == drained.first().and_then(|d| d.id));
    let first = first.expect("the churned upload's events reach the stalled client");
    assert!(caught_up[first..] == drained[..], "every event, in order, exactly once");
}
