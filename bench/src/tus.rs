//! tus ingest: one file sent as a tus client sends it (a creation, then PATCHes of
//! [`CHUNK`] one after another), timed from the creation to the last PATCH's answer,
//! against `dd` writing the same bytes to the same disk and against @tus/server (tus's
//! own Node.js server, with its FileStore) receiving the same upload on the same disk,
//! all in one run; with Uplink's peak memory.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Instant,
};

use hyper::{header, StatusCode};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    cli::Plan,
    client::{empty, full, noise, text, Account, Client, Error},
    ingest::dd,
    probe::{PeakWatch, Probe},
    report::{mib, Section, NO_PID},
};

const MIB: u64 = 1024 * 1024;
/// The PATCHes' size, as a tus client would be set to send.
const CHUNK: u64 = 8 * MIB;
const GOAL_DD: f64 = 0.9;
const GOAL_TUS_NODE: f64 = 2.0;
const GOAL_PEAK: u64 = 100 * MIB;

pub async fn measure(
    plan: &Plan,
    client: &Client,
    account: &Account,
    probe: Option<Probe>,
    disk: Option<&Path>,
    tus_node: Option<&Path>,
) -> Section {
    let bytes = plan.tus_mib * MIB;
    eprintln!("tus: one {} MiB upload in {} MiB PATCHes", plan.tus_mib, CHUNK / MIB);
    let at_start = probe.and_then(|p| p.rss());
    let watch = probe.map(PeakWatch::start);
    let uplink = send(client, "/api/tus", Some(&account.cookie), bytes).await;
    let peak = watch.map(PeakWatch::finish);
    let dd = dd(disk, 1, bytes).await;
    let node = match (tus_node, disk) {
        (Some(script), Some(disk)) => node_reference(script, disk, bytes).await,
        _ => Err("no @tus/server to compare with (--tus-node and --disk)".into()),
    };

    let mut section =
        Section::new("tus ingest", plan.command("tus", &[("tus-mib", plan.tus_mib.to_string())]));
    let rate = |secs: f64| bytes as f64 / MIB as f64 / secs;
    let shown = |result: &Result<f64, String>| match result {
        Ok(secs) => format!("{:.0} MiB/s in {secs:.2} s", rate(*secs)),
        Err(error) => error.clone(),
    };
    let uplink = uplink.map_err(|e| e.to_string());
    section.row(&format!("1 upload of {} MiB", plan.tus_mib), shown(&uplink));
    section.row("  dd", shown(&dd));
    section.row("  @tus/server", shown(&node));
    let ratio = |other: &Result<f64, String>| match (&uplink, other) {
        // Rates: the other's time over Uplink's.
        (Ok(ours), Ok(theirs)) => Some(theirs / ours),
        _ => None,
    };
    let (to_dd, to_node) = (ratio(&dd), ratio(&node));
    let percent = |r: Option<f64>| r.map_or("–".into(), |r| format!("{:.0} %", 100.0 * r));
    section.goal("  ratio to dd", percent(to_dd), "≥ 90 %", to_dd.map(|r| r >= GOAL_DD));
    section.goal(
        "  ratio to @tus/server",
        to_node.map_or("–".into(), |r| format!("{r:.2}×")),
        "≥ 2×",
        to_node.map(|r| r >= GOAL_TUS_NODE),
    );
    let peak_shown = match (peak, at_start) {
        (Some(peak), Some(start)) => format!("{} ({} before)", mib(peak as f64), mib(start as f64)),
        _ => NO_PID.into(),
    };
    section.goal("  server peak RSS", peak_shown, "≤ 100 MiB", peak.map(|p| p <= GOAL_PEAK));
    section
        .figure("tus_mib", plan.tus_mib)
        .figure("tus_secs", uplink.ok())
        .figure("tus_dd_secs", dd.ok())
        .figure("tus_node_secs", node.ok())
        .figure("tus_peak_rss", peak);
    section
}

/// Seconds to send `bytes` to the tus endpoint at `path`, from the creation to the
/// last PATCH's answer.
async fn send(client: &Client, path: &str, cookie: Option<&str>, bytes: u64) -> Result<f64, Error> {
    let pattern = noise(CHUNK as usize);
    let started = Instant::now();
    let create = client
        .request("POST", path, cookie)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", bytes.to_string())
        .body(empty())?;
    let created = client.send(create).await?;
    if created.status() != StatusCode::CREATED {
        return Err(
            format!("creation answered {}: {}", created.status(), text(created).await).into()
        );
    }
    let location = created
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no Location")?
        .to_owned();
    // @tus/server answers an absolute URL; the path is what a request names.
    let location = match location.split_once("://") {
        Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_owned(),
        None => location,
    };
    let mut offset = 0;
    while offset < bytes {
        let len = CHUNK.min(bytes - offset);
        let patch = client
            .request("PATCH", &location, cookie)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", offset.to_string())
            .header(header::CONTENT_TYPE, "application/offset+octet-stream")
            .body(full(pattern.slice(..len as usize)))?;
        let answered = client.send(patch).await?;
        if answered.status() != StatusCode::NO_CONTENT {
            return Err(
                format!("PATCH answered {}: {}", answered.status(), text(answered).await).into()
            );
        }
        offset += len;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// The same upload to @tus/server, started here on `disk` and stopped after.
async fn node_reference(script: &Path, disk: &Path, bytes: u64) -> Result<f64, String> {
    let store = disk.join("tus-node-store");
    tokio::fs::create_dir_all(&store).await.map_err(|e| format!("{}: {e}", store.display()))?;
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(&store)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("node: {e}"))?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let port = loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Some(port) = line.strip_prefix("listening on ") {
                    break port.trim().parse::<u16>().map_err(|e| e.to_string())?;
                }
            }
            _ => return Err("@tus/server did not start".into()),
        }
    };
    let node = Client::new(([127, 0, 0, 1], port).into(), 1);
    let sent = send(&node, "/files", None, bytes).await.map_err(|e| e.to_string());
    let _ = child.kill().await;
    let _ = tokio::fs::remove_dir_all(&store).await;
    sent
}

/// `tus-node/server.mjs` with its packages installed (by `make bench`), if it is.
pub fn installed(dir: &Path) -> Option<PathBuf> {
    let script = dir.join("server.mjs");
    dir.join("node_modules/@tus/server").exists().then_some(script)
}
