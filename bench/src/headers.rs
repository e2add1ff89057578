//! Slow headers: thousands of connections that never finish their request head (a
//! slowloris attack, re-opening each one the server closes), and an ordinary client
//! beside them (its uploads' time to `202` and its events' latency), against the same
//! client alone, in one run.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpSocket,
    sync::{watch, Semaphore},
};

use crate::{
    cli::Plan,
    client::{accepted_id, noise, Client, Error, Upload},
    follow::follow,
    probe::Probe,
    report::Section,
    sse::{now_ms, Stamp},
    stats::Summary,
};

/// Loopback addresses the slow connections come from (127.0.2.1–64), apart from the
/// ordinary client's: 79 each at 5,000, under the default per-client cap of 256.
const SOURCES: u8 = 64;

/// The ordinary client's uploads, each this big.
const UPLOAD_BYTES: usize = 256 * 1024;

/// What the ordinary client saw.
struct Ordinary {
    latency_ms: Summary,
    upload_ms: Summary,
}

pub async fn measure(
    plan: &Plan,
    client: &Client,
    server: SocketAddr,
    probe: Option<Probe>,
) -> Section {
    let mut section = Section::new(
        "Slow headers",
        plan.command(
            "headers",
            &[
                ("slow-connections", plan.slow_connections.to_string()),
                ("ordinary-uploads", plan.ordinary_uploads.to_string()),
            ],
        ),
    );
    eprintln!("slow headers: an ordinary client alone");
    let alone = match ordinary(client, "alone", plan.ordinary_uploads).await {
        Ok(alone) => alone,
        Err(error) => {
            section.row("failed", error.to_string());
            return section;
        }
    };
    let rss_before = probe.and_then(|p| p.rss());
    eprintln!("slow headers: opening {} connections that never finish", plan.slow_connections);
    let slow = Slowloris::start(server, plan.slow_connections);
    slow.wait_until_all_open().await;
    let rss_held = probe.and_then(|p| p.rss());
    eprintln!("slow headers: the ordinary client beside them");
    let beside = ordinary(client, "beside", plan.ordinary_uploads).await;
    let held_after = slow.open.load(Ordering::Relaxed);
    let reopened = slow.reopened.load(Ordering::Relaxed);
    slow.stop();
    let beside = match beside {
        Ok(beside) => beside,
        Err(error) => {
            section.row("failed beside the slow connections", error.to_string());
            return section;
        }
    };

    section.row(
        "connections never finishing their headers",
        format!(
            "{} held ({held_after} at the end; {reopened} re-opened after the header timeout closed them)",
            plan.slow_connections
        ),
    );
    if let (Some(before), Some(held)) = (rss_before, rss_held) {
        let per = held.saturating_sub(before) as f64 / 1024.0 / plan.slow_connections as f64;
        section.row(
            "server RSS before / with them",
            format!("{:.1} / {:.1} MiB ({per:.2} KiB each)", mib(before), mib(held)),
        );
        section.figure("rss_per_slow_connection_kib", per);
    }
    let ratio = |beside: f64, alone: f64| if alone > 0.0 { beside / alone } else { f64::NAN };
    let latency_ratio = ratio(beside.latency_ms.p99, alone.latency_ms.p99);
    let upload_ratio = ratio(beside.upload_ms.p50, alone.upload_ms.p50);
    section.row("event latency alone, p50 / p99 / max", alone.latency_ms.show("ms"));
    section.row("event latency beside them", beside.latency_ms.show("ms"));
    section.row(
        &format!("upload of {} KiB to 202 alone, p50 / p99 / max", UPLOAD_BYTES / 1024),
        alone.upload_ms.show("ms"),
    );
    section.row("upload to 202 beside them", beside.upload_ms.show("ms"));
    section.goal(
        "beside / alone: event p99, upload p50",
        format!("{latency_ratio:.2}× / {upload_ratio:.2}×"),
        "both at most 2×",
        Some(latency_ratio <= 2.0 && upload_ratio <= 2.0),
    );
    section
        .figure("slow_connections", plan.slow_connections)
        .figure("slow_connections_held_at_end", held_after)
        .figure("slow_connections_reopened", reopened)
        .figure("alone_latency_ms", alone.latency_ms)
        .figure("beside_latency_ms", beside.latency_ms)
        .figure("alone_upload_ms", alone.upload_ms)
        .figure("beside_upload_ms", beside.upload_ms)
        .figure("latency_p99_ratio", latency_ratio)
        .figure("upload_p50_ratio", upload_ratio);
    section
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A fresh account's `uploads` uploads one after another, each timed to its `202`, while
/// its event stream times every event from its `at` to its arrival.
async fn ordinary(client: &Client, run: &str, uploads: usize) -> Result<Ordinary, Error> {
    let name =
        format!("slow-headers-{}-{run}", chrono::Utc::now().timestamp_millis() % 1_000_000_000);
    let account = client.account(&name).await?;
    let stream = client.events("/api/events", &account).await?;
    let listening = tokio::spawn(async move {
        let mut latencies = Vec::new();
        let mut finished = 0;
        let followed = follow(stream, |name, data| {
            let Some(stamp) = Stamp::parse(data) else { return false };
            if let Some(at) = stamp.at_ms() {
                latencies.push(now_ms() - at);
            }
            finished += usize::from(name == "done");
            finished == uploads
        })
        .await;
        followed.map(|()| latencies)
    });
    let body = noise(UPLOAD_BYTES);
    let mut upload_ms = Vec::with_capacity(uploads);
    for n in 0..uploads {
        let started = Instant::now();
        let file = Upload::bytes(body.clone());
        let name = format!("ordinary-{n}.bin");
        let response = client.upload(&account, &name, "application/octet-stream", file, false);
        accepted_id(response.await?).await?;
        upload_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let latencies = listening.await??;
    Ok(Ordinary { latency_ms: Summary::of(latencies), upload_ms: Summary::of(upload_ms) })
}

/// The slow connections: each sends part of a request head and nothing more, and when
/// the server closes it, comes back.
struct Slowloris {
    wanted: usize,
    open: Arc<AtomicUsize>,
    reopened: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
}

impl Slowloris {
    fn start(server: SocketAddr, count: usize) -> Self {
        let open = Arc::new(AtomicUsize::new(0));
        let reopened = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = watch::channel(false);
        // Connects 128 at a time, as a burst of real clients would arrive.
        let connecting = Arc::new(Semaphore::new(128));
        for n in 0..count {
            let source = Ipv4Addr::new(127, 0, 2, (n % SOURCES as usize) as u8 + 1);
            let (open, reopened, connecting) = (open.clone(), reopened.clone(), connecting.clone());
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut first = true;
                while !*stopped.borrow() {
                    let Ok(permit) = connecting.acquire().await else { return };
                    let Ok(mut socket) = connect(source, server).await else { return };
                    drop(permit);
                    if socket
                        .write_all(b"GET /api/events HTTP/1.1\r\nHost: uplink\r\nX-Slow: ")
                        .await
                        .is_err()
                    {
                        continue;
                    }
                    open.fetch_add(1, Ordering::Relaxed);
                    if !std::mem::take(&mut first) {
                        reopened.fetch_add(1, Ordering::Relaxed);
                    }
                    let mut buffer = [0u8; 512];
                    tokio::select! {
                        _ = async { while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {} } => {}
                        _ = stopped.changed() => {}
                    }
                    open.fetch_sub(1, Ordering::Relaxed);
                }
            });
        }
        Self { wanted: count, open, reopened, stop }
    }

    async fn wait_until_all_open(&self) {
        let started = Instant::now();
        while self.open.load(Ordering::Relaxed) < self.wanted
            && started.elapsed() < Duration::from_secs(60)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(self) {
        let _ = self.stop.send(true);
    }
}

async fn connect(source: Ipv4Addr, server: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(server).await
}
