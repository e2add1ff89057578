//! Three `uplink` processes on one PostgreSQL database and one S3 bucket behind nginx
//! running `deploy/nginx.conf`, round-robin: a client never knows or cares which node
//! answers.

use std::collections::HashSet;

use futures_util::future::join_all;
use reqwest::header;

use crate::common::{
    assert_ordered,
    cluster::{Cluster, PREFIX},
    named, post_file,
    tus::{self, TUS},
    within, Account, Sse, SseReader,
};
use testkit::pdf as fixtures;

fn terminal(event: &Sse) -> bool {
    matches!(event.name(), "done" | "error")
}

/// The node that answered.
fn node(response: &reqwest::Response) -> String {
    response.headers()[uplink::NODE_HEADER].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_whose_requests_land_on_other_nodes_streams_live_through_the_proxy() {
    let cluster = Cluster::start(3).await;
    let alice = Account::register(&cluster.url(""), "alice").await;
    let mut live =
        SseReader::started(alice.client.get(cluster.url("/api/events")).send().await.unwrap())
            .await;

    // A tus upload in four PATCHes: round-robin sends its requests to every node.
    let data: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let (created, location) =
        tus::create(&alice.client, &cluster.url(""), data.len(), "ZGF0YS5iaW4=").await;
    let mut answered_by = HashSet::from([node(&created)]);
    let id = tus::id_of(&location);
    for (n, chunk) in data.chunks(64 * 1024).enumerate() {
        let patch = tus::patch(&alice.client, &cluster.url(&location), n * 64 * 1024);
        let patched = patch.body(chunk.to_vec()).send().await.unwrap();
        assert_eq!(patched.status(), 204, "chunk {n}");
        answered_by.insert(node(&patched));
    }
    assert!(answered_by.len() >= 2, "the requests went to several nodes: {answered_by:?}");

    let events = within("the upload to end", live.until(terminal)).await;
    let events = named(&events);
    assert!(events.iter().all(|e| e.json()["upload_id"] == id.as_str()));
    assert_ordered(&events);
    assert_eq!(events.last().unwrap().name(), "done");
    let received: Vec<u64> =
        events.iter().filter_map(|e| e.json()["bytes_received"].as_u64()).collect();
    assert!(received.len() >= 4, "each chunk's progress, live: {received:?}");
    tus::assert_stored(&alice.client, cluster.url(&format!("/api/uploads/{id}")), &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_resuming_through_the_proxy_while_nodes_write_at_once_see_the_same_ids() {
    let cluster = Cluster::start(3).await;
    let alice = Account::register(&cluster.url(""), "alice").await;
    let uploads = 6;
    let open = |last: Option<i64>| {
        let request = alice.client.get(cluster.url("/api/events"));
        let request = match last {
            Some(last) => request.header("Last-Event-ID", last.to_string()),
            None => request,
        };
        async move { SseReader::started(request.send().await.unwrap()).await }
    };
    // A reader that never hangs up, and five that hang up at random points and resume
    // from their last id, each time on whichever node the proxy picks.
    let reference = open(None).await;
    let mut flaky = Vec::new();
    for _ in 0..5 {
        flaky.push(open(None).await);
    }

    // Six uploads at once through the proxy: received on several nodes, processed on
    // whichever nodes claim them, their events appended by several nodes at once.
    let sending = join_all((0..uploads).map(|n| {
        let (client, base) = (alice.client.clone(), cluster.url(""));
        async move {
            let bytes =
                if n % 2 == 0 { fixtures::pdf(4) } else { format!("text {n}").into_bytes() };
            post_file(&client, &base, &format!("file-{n}"), &bytes).await;
        }
    }));
    let reading_reference = async move {
        let mut reader = reference;
        let events = within("the reference reader", reader.until_finished(uploads)).await;
        events.iter().map(|e| e.id.unwrap()).collect::<Vec<i64>>()
    };
    let reading_flaky = join_all(flaky.into_iter().enumerate().map(|(n, first)| {
        let open = &open;
        async move {
            let mut seed = 0x5eed_0000 + n as u64;
            let mut reader = first;
            let (mut seen, mut finished, mut reconnects) = (Vec::new(), 0, 0);
            while finished < uploads {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let mut budget = 1 + (seed >> 33) % 8;
                let batch = reader.until(|e| {
                    budget -= u64::from(e.event.is_some());
                    finished += usize::from(terminal(e));
                    budget == 0 || finished == uploads
                });
                seen.extend(ids(&within("a resuming reader", batch).await));
                if finished < uploads {
                    reconnects += 1;
                    reader = open(seen.last().copied()).await;
                }
            }
            (seen, reconnects)
        }
    }));
    let (_, steady, flaky) = tokio::join!(sending, reading_reference, reading_flaky);
    let every: Vec<i64> = (steady[0]..=*steady.last().unwrap()).collect();
    assert_eq!(steady, every, "no gap, no repeat");
    for (seen, reconnects) in flaky {
        assert!(reconnects >= 3, "it really hung up ({reconnects} times)");
        assert_eq!(seen, steady, "the same ids as a reader that never hung up");
    }
}

fn ids(events: &[Sse]) -> Vec<i64> {
    named(events).iter().map(|e| e.id.unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_goes_through_the_proxy_as_it_is_sent() {
    let cluster = Cluster::start(3).await;
    let alice = Account::register(&cluster.url(""), "alice").await;
    let mut live =
        SseReader::started(alice.client.get(cluster.url("/api/events")).send().await.unwrap())
            .await;
    // The form's head and a first part of the file, then nothing until the upload has
    // been announced: a proxy that buffered request bodies would wait for the rest first,
    // and the upload would never begin.
    let (content_type, body) = crate::common::multipart("file", "slow.bin", &[7u8; 256 * 1024]);
    let (part, rest) = body.split_at(64 * 1024);
    let (send, stream) = crate::common::channel_body();
    let request = alice
        .client
        .post(cluster.url("/api/uploads"))
        .header(header::CONTENT_TYPE, content_type)
        .body(stream)
        .send();
    let sending = tokio::spawn(request);
    send.send(Ok(part.to_vec())).await.unwrap();
    let announced =
        within("the upload to be announced", live.until(|e| e.name() == "progress")).await;
    assert_eq!(named(&announced)[0].json()["status"], "uploading");
    send.send(Ok(rest.to_vec())).await.unwrap();
    drop(send);
    assert_eq!(sending.await.unwrap().unwrap().status(), 202);
    let events = within("the upload to end", live.until(terminal)).await;
    assert_eq!(named(&events).last().unwrap().name(), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tus_upload_cut_on_one_node_is_resumed_on_others_and_stored_in_parts() {
    const MIB: usize = 1 << 20;
    let cluster = Cluster::start(3).await;
    let alice = Account::register(&cluster.url(""), "alice").await;
    let mut live =
        SseReader::started(alice.client.get(cluster.url("/api/events")).send().await.unwrap())
            .await;
    let data: Vec<u8> = (0..13 * MIB + 12_345).map(|i| (i * 31 % 253) as u8).collect();
    let (_, location) =
        tus::create(&alice.client, &cluster.url(""), data.len(), "YmlnLmJpbg==").await;
    let id = tus::id_of(&location);

    // Node 0 gets 8 MiB, which it makes durable and announces (a part and a tail in the
    // bucket), and then the connection breaks.
    let (send, body) = crate::common::channel_body();
    let cut = tus::patch(&alice.client, &cluster.node_url(0, &location), 0).body(body).send();
    let cut = tokio::spawn(cut);
    for chunk in data[..8 * MIB].chunks(MIB) {
        send.send(Ok(chunk.to_vec())).await.unwrap();
    }
    let at_8 = |e: &Sse| e.json()["bytes_received"].as_u64() == Some(8 * MIB as u64);
    within("node 0 to announce 8 MiB", live.until(at_8)).await;
    send.send(Err(std::io::Error::other("the connection breaks"))).await.unwrap();
    assert!(cut.await.unwrap().is_err(), "the request was cut");

    // Nodes 1 and 2 go on from the offset node 0 recorded, from what is in the bucket.
    let head = alice.client.head(cluster.node_url(1, &location)).header(TUS.0, TUS.1);
    let head = head.send().await.unwrap();
    assert_eq!(head.headers()["upload-offset"], (8 * MIB).to_string().as_str());
    for (node, range) in [(1, 8 * MIB..11 * MIB), (2, 11 * MIB..data.len())] {
        let patch = tus::patch(&alice.client, &cluster.node_url(node, &location), range.start);
        let patched = patch.body(data[range].to_vec()).send().await.unwrap();
        assert_eq!(patched.status(), 204, "node {node}");
    }

    let events = within("the upload to end", live.until(terminal)).await;
    assert_eq!(named(&events).last().unwrap().name(), "done");
    tus::assert_stored(&alice.client, cluster.url(&format!("/api/uploads/{id}")), &data).await;
    let download = alice.client.get(cluster.url(&format!("/api/uploads/{id}/file"))).send();
    let downloaded = download.await.unwrap().bytes().await.unwrap();
    assert!(downloaded == data, "downloaded as sent");
    let original = format!("{PREFIX}/originals/{id}");
    assert!(cluster.bucket.parts_of(&original).await >= 2, "stored as parts, never copied");
    let left = cluster.bucket.multipart_uploads().await;
    assert!(left.is_empty(), "no multipart upload left behind: {left:?}");
    let keys = cluster.bucket.keys().await;
    assert!(!keys.iter().any(|key| key.contains("/partial/")), "no partial object left: {keys:?}");
}
