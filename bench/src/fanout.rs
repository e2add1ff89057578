//! Fan-out: events flowing to many open streams. Slow uploads spread over the accounts
//! make the events (the server publishes at most five receiving-progress events a second
//! per upload), and every subscriber times each event it receives against its `at`.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{stream, StreamExt};

use crate::{
    cli::Plan,
    client::{accepted_id, Account, Client, Upload},
    probe::Probe,
    report::{kib, mib, per_stream, Section, NO_PID},
    subscribers::Pool,
};

/// Receiving-progress events an upload makes per second, at most (the contract).
const EVENTS_PER_UPLOAD_SEC: usize = 5;
/// A slow upload sends a chunk this often, so the server always has bytes to report.
const TICK: Duration = Duration::from_millis(50);
const CHUNK: usize = 1024;
const GOAL_P99_MS: f64 = 50.0;

pub async fn measure(
    plan: &Plan,
    client: &Arc<Client>,
    accounts: &[Account],
    pool: &Pool,
    probe: Option<Probe>,
    baseline: Option<u64>,
) -> Section {
    let uploads = plan.events_per_sec.div_ceil(EVENTS_PER_UPLOAD_SEC).max(1);
    eprintln!(
        "fan-out: {uploads} slow uploads for {} s, {} streams open",
        plan.load_secs,
        pool.open_now()
    );
    let cpu_before = probe.and_then(|p| p.cpu());
    pool.tally.start();
    let started = Instant::now();
    let results: Vec<_> = stream::iter(0..uploads)
        .map(|n| {
            let client = Arc::clone(client);
            let account = accounts[n % accounts.len()].clone();
            // Spread over one publishing period, so the events do not arrive in bursts.
            let offset = Duration::from_millis(200) * n as u32 / uploads as u32;
            let secs = plan.load_secs;
            tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                let response = client
                    .upload(&account, &format!("slow-{n}.txt"), "text/plain", slow(secs), false)
                    .await?;
                accepted_id(response).await
            })
        })
        .buffer_unordered(uploads)
        .collect()
        .await;
    let failed = results.iter().filter(|r| !matches!(r, Ok(Ok(_)))).count();
    // Each upload's last events (stored, processed, done) are part of the load too.
    let settled = pool.tally.terminals((uploads - failed) as u64, Duration::from_secs(60)).await;
    let window = started.elapsed().as_secs_f64();
    let latency = pool.tally.stop();
    let cpu = probe.and_then(|p| Some(p.cpu()?.since(cpu_before?)));
    let rss = probe.and_then(|p| p.rss());
    let delivered = pool.tally.delivered.load(Ordering::Relaxed);
    let published = pool.tally.published.load(Ordering::Relaxed);
    let held = pool.open_now();
    let lost = pool.tally.lost.load(Ordering::Relaxed);

    let mut section = Section::new(
        "Fan-out",
        plan.command(
            "fanout",
            &[
                ("subscribers", plan.subscribers.to_string()),
                ("accounts", plan.accounts.to_string()),
                ("events-per-sec", plan.events_per_sec.to_string()),
                ("load-secs", plan.load_secs.to_string()),
            ],
        ),
    );
    section.goal(
        "streams held",
        format!("{held} of {} ({} failed to open, {lost} dropped)", plan.subscribers, pool.failed),
        &format!("all {}", plan.subscribers),
        Some(held == plan.subscribers),
    );
    if let Some(error) = &pool.first_error {
        section.row("first open failure", error.clone());
    }
    section.row(
        "connect to retry: p50 / p99 / max",
        format!("{} (all open in {:.1} s)", pool.connect_ms.show("ms"), pool.opening.as_secs_f64()),
    );
    section.row(
        "load",
        format!(
            "{uploads} slow uploads over {} accounts ({failed} failed{})",
            plan.accounts,
            if settled { "" } else { ", some never finished" }
        ),
    );
    section.row(
        "events published / delivered",
        format!(
            "{:.0}/s / {:.0}/s ({published} / {delivered} in {window:.1} s)",
            published as f64 / window,
            delivered as f64 / window
        ),
    );
    section.goal(
        "latency, `at` to receipt: p50 / p99 / max",
        latency.show("ms"),
        "p99 < 50 ms",
        Some(latency.count > 0 && latency.p99 < GOAL_P99_MS),
    );
    let per_stream = per_stream(rss, baseline, held);
    section.row(
        "server RSS / per stream",
        match (rss, per_stream) {
            (Some(rss), Some(per)) => format!("{} / {}", mib(rss as f64), kib(per)),
            _ => NO_PID.into(),
        },
    );
    let cpu_per_1000 = cpu.filter(|_| delivered > 0).map(|cpu| cpu.own * 1000.0 / delivered as f64);
    section.row(
        "server CPU per 1,000 events delivered",
        cpu_per_1000.map_or(NO_PID.into(), |secs| format!("{:.4} s", secs)),
    );
    section
        .figure("subscribers", plan.subscribers)
        .figure("held", held)
        .figure("failed_to_open", pool.failed)
        .figure("dropped", lost)
        .figure("connect_ms", pool.connect_ms)
        .figure("opening_secs", pool.opening.as_secs_f64())
        .figure("uploads", uploads)
        .figure("window_secs", window)
        .figure("published", published)
        .figure("delivered", delivered)
        .figure("events_per_sec", published as f64 / window)
        .figure("latency_ms", latency)
        .figure("rss_bytes", rss)
        .figure("rss_per_stream_bytes", per_stream)
        .figure("cpu_secs", cpu.map(|cpu| cpu.own))
        .figure("cpu_secs_per_1000_delivered", cpu_per_1000);
    section
}

/// A text file sent a chunk every [`TICK`] for `secs` seconds.
fn slow(secs: u64) -> Upload {
    let ticks = (Duration::from_secs(secs).as_millis() / TICK.as_millis()) as u64;
    let line = Bytes::from(
        "uplink benchmark: a slow upload, one line at a time.\n".repeat(CHUNK / 53 + 1),
    );
    let chunk = line.slice(..CHUNK);
    let chunks = stream::unfold((0u64, tokio::time::interval(TICK)), move |(sent, mut every)| {
        let chunk = chunk.clone();
        async move {
            (sent < ticks).then_some(())?;
            every.tick().await;
            Some((chunk, (sent + 1, every)))
        }
    });
    Upload { len: ticks * CHUNK as u64, chunks: Box::pin(chunks) }
}
