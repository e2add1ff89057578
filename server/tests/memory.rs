//! A client that stops reading costs the server bounded memory, however many events go
//! by. This binary counts every heap allocation of its process, so it holds one test.

#[path = "it/common/mod.rs"]
#[allow(dead_code)]
mod common;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

use common::{churn, RawSse, SseReader, TestServer};

/// The system allocator, keeping count of what is allocated and freed.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed since `region` began (a realloc's growth or
/// shrinkage is already counted in these two).
fn grown(region: &Region<'_, std::alloc::System>) -> isize {
    let change = region.change();
    change.bytes_allocated as isize - change.bytes_deallocated as isize
}

const MIB: isize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_holds_bounded_memory_while_events_stream_past_it() {
    let server = TestServer::start_with(|c| c.event_buffer = 256).await;
    let mut stalled = RawSse::connect(server.addr, "/api/events", &server.user.cookie).await;
    assert!(stalled.next().await.unwrap().retry.is_some());
    let mut steady =
        SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());
    assert!(steady.next().await.unwrap().retry.is_some());

    // Warm up: the ring fills, caches and pools reach their working size.
    churn(
        &server.state,
        server.user.id.as_str(),
        "0191c1d2-6b0e-7a3c-9f00-000000000001",
        2000,
        1024,
    )
    .await;
    let mut last = 0;
    while last < 2002 {
        last = steady.next().await.unwrap().id.unwrap_or(last);
    }
    let region = Region::new(ALLOCATOR);

    // The steady client counts (never keeps) events as they come, all along.
    let total = 2002 + 10_002;
    let counting = tokio::spawn(async move {
        let mut bytes = 0;
        while last < total {
            let event = steady.next().await.unwrap();
            bytes += event.data.len();
            last = event.id.unwrap_or(last);
        }
        bytes
    });
    // 10,000 events of about 2 KiB: 20 MiB, five times what the kernel can buffer for
    // the stalled socket.
    churn(
        &server.state,
        server.user.id.as_str(),
        "0191c1d2-6b0e-7a3c-9f00-000000000002",
        10_000,
        2048,
    )
    .await;
    let bytes = counting.await.unwrap();
    let grown = grown(&region);
    eprintln!(
        "10000 events ({} MiB of data) went past a stalled client; heap grew {} KiB",
        bytes as isize / MIB,
        grown / 1024
    );
    assert!(bytes as isize > 16 * MIB, "enough traffic to tell bounded from unbounded");
    assert!(grown < 2 * MIB, "heap grew {grown} bytes while a client was stalled");

    // And the stalled client, reading again, receives every one of them.
    let mut seen = 0;
    let mut previous = 0;
    while previous < total {
        let event = stalled.next().await.expect("still connected");
        if let Some(id) = event.id {
            assert_eq!(id, previous + 1, "no gap, no duplicate");
            previous = id;
            seen += 1;
        }
    }
    assert_eq!(seen, total);
}
