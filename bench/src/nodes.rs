//! Several nodes: one node on SQLite against one on PostgreSQL (its bytes on disk, then in
//! S3), then one, two and three nodes on PostgreSQL and S3 behind nginx running
//! `deploy/nginx.conf`, under one load: `publishers` clients upload small text files as
//! fast as they are answered for the load's seconds, spread over a few accounts, while
//! `READERS` streams per account count what they get and how late (the event's `at` to
//! its arrival). Every reader of an account gets every event of it once, so one reader's
//! count is what was published and all of theirs what was delivered.
//!
//! PostgreSQL and the S3 server are the ones `scripts/with-services` names
//! (`make bench` runs the tool under it); each configuration gets a database and a bucket
//! of its own.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use http_body_util::BodyExt;
use tokio::{sync::watch, time::Instant};

use crate::{
    cli::Plan,
    client::{accepted_id, noise, Account, Client, Error, Upload},
    report::Section,
    sse::{now_ms, Item, Reader, Stamp},
    stats::Summary,
    target::Target,
};

/// Streams per account.
const READERS: usize = 2;
/// Accounts the load is spread over: every event goes to `READERS` streams.
const ACCOUNTS: usize = 4;
/// How long the uploads of the load may take to finish once it stops.
const DRAIN: Duration = Duration::from_secs(120);

/// One way of running Uplink.
struct Setup {
    label: &'static str,
    key: &'static str,
    nodes: usize,
    /// PostgreSQL rather than SQLite.
    database: bool,
    /// S3 rather than the data directory.
    bucket: bool,
    proxy: bool,
}

const fn setup(
    label: &'static str,
    key: &'static str,
    nodes: usize,
    shared: (bool, bool),
    proxy: bool,
) -> Setup {
    Setup { label, key, nodes, database: shared.0, bucket: shared.1, proxy }
}

/// SQLite against PostgreSQL on one node, with the bytes on disk, then the bytes in S3,
/// then the proxy in front, then more nodes: each step changes one thing.
const SETUPS: [Setup; 6] = [
    setup("1 node, SQLite, files", "sqlite_1", 1, (false, false), false),
    setup("1 node, PostgreSQL, files", "pg_files_1", 1, (true, false), false),
    setup("1 node, PostgreSQL + S3", "pg_1", 1, (true, true), false),
    setup("1 node behind nginx", "pg_1_proxy", 1, (true, true), true),
    setup("2 nodes behind nginx", "pg_2_proxy", 2, (true, true), true),
    setup("3 nodes behind nginx", "pg_3_proxy", 3, (true, true), true),
];

/// What one configuration did.
struct Measured {
    /// From the load's start to the last upload's end, seconds.
    span: f64,
    published_per_sec: f64,
    delivered_per_sec: f64,
    uploads_per_sec: f64,
    latency: Summary,
}

pub async fn measure(plan: &Plan, binary: &Path, scratch: &Path) -> Section {
    let command = plan.command("nodes", &[("load-secs", plan.load_secs.to_string())]);
    let mut section = Section::new("Several nodes", command);
    let publishers = plan.node_publishers;
    section.row(
        "load",
        format!(
            "{publishers} clients uploading 4 KiB text files for {} s over {ACCOUNTS} accounts, \
         {READERS} streams each",
            plan.load_secs
        ),
    );
    let mut results = Vec::new();
    for setup in &SETUPS {
        eprintln!("several nodes: {}", setup.label);
        match run(setup, plan, binary, scratch).await {
            Ok(measured) => {
                section.row(
                    setup.label,
                    format!(
                        "{:.1} uploads/s; {:.0} events/s published, {:.0} delivered, latency {}; \
                         all done {:.1} s after the start",
                        measured.uploads_per_sec,
                        measured.published_per_sec,
                        measured.delivered_per_sec,
                        measured.latency.show("ms"),
                        measured.span,
                    ),
                );
                section.figure(
                    &format!("{}_published_per_sec", setup.key),
                    measured.published_per_sec,
                );
                section.figure(
                    &format!("{}_delivered_per_sec", setup.key),
                    measured.delivered_per_sec,
                );
                section.figure(&format!("{}_uploads_per_sec", setup.key), measured.uploads_per_sec);
                section.figure(&format!("{}_latency_ms", setup.key), measured.latency);
                section.figure(&format!("{}_span_secs", setup.key), measured.span);
                results.push(Some(measured));
            }
            Err(error) => {
                section.row(setup.label, format!("failed: {error}"));
                results.push(None);
            }
        }
    }
    let uploads = |n: usize| results[n].as_ref().map(|m| m.uploads_per_sec);
    // PostgreSQL is a network round trip per statement where SQLite is a call: on one
    // node it may cost some throughput, not most of it.
    let ratio = uploads(1).zip(uploads(0)).map(|(pg, sqlite)| pg / sqlite);
    section.goal(
        "PostgreSQL against SQLite, one node, files (uploads/s)",
        ratio.map_or("n/a".into(), |r| format!("{:.0} %", r * 100.0)),
        "at least 50 %",
        ratio.map(|r| r >= 0.5),
    );
    // On one machine the nodes share its cores: more nodes cannot add throughput there,
    // but must not lose much of it to coordination either.
    let scaling = uploads(5).zip(uploads(3)).map(|(three, one)| three / one);
    section.goal(
        "3 nodes against 1 behind nginx, same machine (uploads/s)",
        scaling.map_or("n/a".into(), |r| format!("{:.0} %", r * 100.0)),
        "at least 80 %",
        scaling.map(|r| r >= 0.8),
    );
    let p99 = results.iter().flatten().map(|m| m.latency.p99).fold(0.0, f64::max);
    section.goal(
        "worst p99 latency of any setup",
        format!("{p99:.1} ms"),
        "under 250 ms",
        Some(p99 < 250.0),
    );
    section
}

/// Starts `setup`, loads it, and stops it.
async fn run(setup: &Setup, plan: &Plan, binary: &Path, scratch: &Path) -> Result<Measured, Error> {
    let mut env: Vec<(&str, String)> = Vec::new();
    if setup.database {
        env.push(("UPLINK_DATABASE_URL", testkit::postgres::fresh_database().await));
    }
    if setup.bucket {
        env.extend(testkit::s3::fresh_bucket().await.env("bench"));
    }
    if setup.proxy {
        env.push(("UPLINK_TRUSTED_PROXIES", "127.0.0.1".into()));
    }
    let mut nodes = Vec::new();
    for n in 0..setup.nodes {
        let mut env = env.clone();
        env.push(("UPLINK_NODE_ID", format!("bench-{n}")));
        nodes.push(Target::start_with(binary, scratch, &format!("node-{n}"), &env).await?);
    }
    let addrs: Vec<SocketAddr> = nodes.iter().map(|node| node.addr).collect();
    let proxy = match setup.proxy {
        true => Some(testkit::nginx::Nginx::start(&addrs).await),
        false => None,
    };
    let entry = proxy.as_ref().map_or(addrs[0], |proxy| proxy.addr);
    let measured = load(Arc::new(Client::new(entry, plan.sources)), plan).await;
    drop(proxy);
    for node in nodes {
        node.stop().await;
    }
    measured
}

async fn load(client: Arc<Client>, plan: &Plan) -> Result<Measured, Error> {
    let run = chrono::Utc::now().timestamp_millis() % 1_000_000_000;
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        accounts.push(client.account(&format!("nodes{run}-{n}")).await?);
    }
    // Each account's number of uploads, once the load has stopped.
    let (total, expected) = watch::channel::<Option<Vec<usize>>>(None);
    let mut readers = Vec::new();
    for (n, account) in accounts.iter().enumerate() {
        for _ in 0..READERS {
            let response = client.events("/api/events", account).await?;
            readers.push(tokio::spawn(read(response, n, expected.clone())));
        }
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(plan.load_secs);
    let publishing = (0..plan.node_publishers).map(|p| {
        let (client, account) = (Arc::clone(&client), accounts[p % ACCOUNTS].clone());
        tokio::spawn(publish(client, account, deadline))
    });
    let mut per_account = vec![0; ACCOUNTS];
    for (p, publisher) in publishing.collect::<Vec<_>>().into_iter().enumerate() {
        per_account[p % ACCOUNTS] += publisher.await.map_err(|e| e.to_string())??;
    }
    let uploaded = per_account.iter().sum::<usize>();
    let load_secs = started.elapsed().as_secs_f64();
    let _ = total.send(Some(per_account));
    let mut readings = Vec::new();
    for reader in readers {
        let reading =
            tokio::time::timeout(DRAIN, reader).await.map_err(|_| "the uploads did not finish")?;
        readings.push(reading.map_err(|e| e.to_string())??);
    }
    let span = started.elapsed().as_secs_f64();
    let published: usize = readings.iter().step_by(READERS).map(|r| r.events).sum();
    let delivered: usize = readings.iter().map(|r| r.events).sum();
    let latencies = readings.into_iter().flat_map(|r| r.latencies).collect();
    Ok(Measured {
        span,
        published_per_sec: published as f64 / span,
        delivered_per_sec: delivered as f64 / span,
        uploads_per_sec: uploaded as f64 / load_secs,
        latency: Summary::of(latencies),
    })
}

/// Uploads small files one after another until `deadline`; how many were stored.
async fn publish(client: Arc<Client>, account: Account, deadline: Instant) -> Result<usize, Error> {
    let mut stored = 0;
    while Instant::now() < deadline {
        let file = Upload::bytes(noise(4096));
        let response = client.upload(&account, "note.txt", "text/plain", file, false).await?;
        accepted_id(response).await?;
        stored += 1;
    }
    Ok(stored)
}

/// What one stream got.
struct Reading {
    events: usize,
    latencies: Vec<f64>,
}

/// Reads account `n`'s stream until it has seen the end of every upload made for it.
async fn read(
    response: hyper::Response<hyper::body::Incoming>,
    n: usize,
    mut expected: watch::Receiver<Option<Vec<usize>>>,
) -> Result<Reading, Error> {
    let mut body = response.into_body();
    let mut reader = Reader::default();
    let (mut events, mut ended, mut latencies) = (0, 0, Vec::new());
    loop {
        let wanted = expected.borrow().as_ref().map(|counts| counts[n]);
        if wanted.is_some_and(|wanted| ended >= wanted) {
            return Ok(Reading { events, latencies });
        }
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = expected.changed() => continue,
        };
        let frame = frame.ok_or("the event stream ended")??;
        let Some(chunk) = frame.data_ref() else { continue };
        let arrived = now_ms();
        reader.feed(chunk, |item| {
            let Item::Event { name, data } = item else { return };
            let Some(stamp) = Stamp::parse(&data) else { return };
            events += 1;
            latencies.extend(stamp.at_ms().map(|at| arrived - at));
            if name == "done" || name == "error" {
                ended += 1;
            }
        });
    }
}
