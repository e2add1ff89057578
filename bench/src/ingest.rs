//! Ingest: one big upload, then many small ones at once, timed to the server's `202`
//! (its answer once the bytes are stored and synced), with the server's peak memory,
//! against `dd` writing the same number of bytes to the same disk.

use std::{path::Path, sync::Arc, time::Instant};

use futures_util::{future::join_all, stream, StreamExt};

use crate::{
    cli::Plan,
    client::{accepted_id, noise, Account, Client, Error, Upload},
    follow::settle,
    probe::{PeakWatch, Probe},
    report::{mib, Section, NO_PID},
};

const MIB: u64 = 1024 * 1024;
/// The chunks a client sends the big file in.
const CHUNK: usize = 256 * 1024;
const GOAL_RATIO: f64 = 0.8;
const GOAL_PEAK: u64 = 100 * MIB;
/// `dd` processes writing at once for the many-files reference.
const DD_AT_ONCE: usize = 16;

struct Run {
    secs: f64,
    /// Server RSS before the uploads began.
    at_start: Option<u64>,
    peak: Option<u64>,
    failed: usize,
    first_error: Option<String>,
}

impl Run {
    fn peak_shown(&self) -> String {
        match (self.peak, self.at_start) {
            (Some(peak), Some(start)) => {
                format!("{} ({} before)", mib(peak as f64), mib(start as f64))
            }
            _ => NO_PID.into(),
        }
    }
}

pub async fn measure(
    plan: &Plan,
    client: &Arc<Client>,
    accounts: &[Account],
    probe: Option<Probe>,
    disk: Option<&Path>,
) -> Section {
    let big_bytes = plan.big_mib * MIB;
    eprintln!("ingest: one {} MiB upload", plan.big_mib);
    let big = timed(
        probe,
        vec![(accounts[0].clone(), Upload::repeating(noise(8 * MIB as usize), big_bytes, CHUNK))],
        client,
        accounts,
    )
    .await;
    let dd_big = dd(disk, 1, big_bytes).await;

    let small_bytes = plan.small_kib * 1024;
    eprintln!("ingest: {} uploads of {} KiB at once", plan.small_files, plan.small_kib);
    let pattern = noise(small_bytes as usize);
    let files = (0..plan.small_files)
        .map(|n| (accounts[n % accounts.len()].clone(), Upload::bytes(pattern.clone())))
        .collect();
    let small = timed(probe, files, client, accounts).await;
    let all_small = small_bytes * plan.small_files as u64;
    let dd_small = dd(disk, plan.small_files, small_bytes).await;

    let mut section = Section::new(
        "Ingest",
        plan.command(
            "ingest",
            &[
                ("big-mib", plan.big_mib.to_string()),
                ("small-files", plan.small_files.to_string()),
                ("small-kib", plan.small_kib.to_string()),
                ("accounts", plan.accounts.to_string()),
            ],
        ),
    );
    let rate = |bytes: u64, secs: f64| bytes as f64 / MIB as f64 / secs;
    let big_rate = rate(big_bytes, big.secs);
    let dd_big_rate = dd_big.as_ref().ok().map(|secs| rate(big_bytes, *secs));
    section.goal(
        &format!("1 upload of {} MiB", plan.big_mib),
        format!(
            "{big_rate:.0} MiB/s in {:.2} s; dd {}",
            big.secs,
            match &dd_big {
                Ok(secs) => format!("{:.0} MiB/s", rate(big_bytes, *secs)),
                Err(error) => error.clone(),
            }
        ),
        "≥ 80 % of dd",
        dd_big_rate.map(|dd| big_rate >= GOAL_RATIO * dd),
    );
    if let Some(dd) = dd_big_rate {
        section.row("  ratio to dd", format!("{:.0} %", 100.0 * big_rate / dd));
    }
    section.goal(
        "  server peak RSS",
        big.peak_shown(),
        "< 100 MiB",
        big.peak.map(|peak| peak < GOAL_PEAK),
    );
    let small_rate = rate(all_small, small.secs);
    section.row(
        &format!("{} uploads of {} KiB at once", plan.small_files, plan.small_kib),
        format!(
            "{:.0} files/s, {small_rate:.1} MiB/s in {:.2} s ({} failed); dd {}",
            plan.small_files as f64 / small.secs,
            small.secs,
            small.failed,
            match &dd_small {
                Ok(secs) => format!(
                    "{:.0} files/s, {:.1} MiB/s (a synced file each, {DD_AT_ONCE} at once)",
                    plan.small_files as f64 / secs,
                    rate(all_small, *secs)
                ),
                Err(error) => error.clone(),
            }
        ),
    );
    if let Ok(secs) = &dd_small {
        section
            .row("  ratio to dd", format!("{:.0} %", 100.0 * small_rate / rate(all_small, *secs)));
    }
    section.row("  server peak RSS", small.peak_shown());
    for error in [&big.first_error, &small.first_error].into_iter().flatten() {
        section.row("first failure", error.clone());
    }
    section
        .figure("big_bytes", big_bytes)
        .figure("big_secs", big.secs)
        .figure("big_mib_per_sec", big_rate)
        .figure("big_peak_rss_bytes", big.peak)
        .figure("big_start_rss_bytes", big.at_start)
        .figure("dd_big_secs", dd_big.ok())
        .figure("small_files", plan.small_files)
        .figure("small_bytes_each", small_bytes)
        .figure("small_secs", small.secs)
        .figure("small_files_per_sec", plan.small_files as f64 / small.secs)
        .figure("small_failed", small.failed)
        .figure("small_peak_rss_bytes", small.peak)
        .figure("small_start_rss_bytes", small.at_start)
        .figure("dd_small_secs", dd_small.ok());
    section
}

/// Sends all `files` at once and times them to the last answer; then waits until the
/// server has processed them, so the next measurement starts on a quiet server.
async fn timed(
    probe: Option<Probe>,
    files: Vec<(Account, Upload)>,
    client: &Arc<Client>,
    accounts: &[Account],
) -> Run {
    let at_start = probe.and_then(|p| p.rss());
    let watch = probe.map(PeakWatch::start);
    let started = Instant::now();
    let sent = files.into_iter().enumerate().map(|(n, (account, file))| {
        let client = Arc::clone(client);
        async move {
            let response = client
                .upload(
                    &account,
                    &format!("ingest-{n}.bin"),
                    "application/octet-stream",
                    file,
                    false,
                )
                .await?;
            Ok::<_, Error>((account.cookie, accepted_id(response).await?))
        }
    });
    let answers = join_all(sent).await;
    let secs = started.elapsed().as_secs_f64();
    let peak = watch.map(PeakWatch::finish);
    let failed = answers.iter().filter(|answer| answer.is_err()).count();
    let first_error =
        answers.iter().find_map(|answer| answer.as_ref().err().map(ToString::to_string));
    let accepted: Vec<_> = answers.into_iter().flatten().collect();
    let waits = accounts.iter().map(|account| {
        let ids: Vec<String> = accepted
            .iter()
            .filter(|(cookie, _)| *cookie == account.cookie)
            .map(|(_, id)| id.clone())
            .collect();
        async move { settle(client, account, &ids).await }
    });
    for result in join_all(waits).await {
        if let Err(error) = result {
            eprintln!("ingest: waiting for processing failed: {error}");
        }
    }
    Run { secs, at_start, peak, failed, first_error }
}

/// Seconds `dd` takes to write `files` new files of `bytes` each in `dir` and sync each
/// (as the server syncs each upload before answering), [`DD_AT_ONCE`] at a time.
pub(crate) async fn dd(dir: Option<&Path>, files: usize, bytes: u64) -> Result<f64, String> {
    let dir = dir.ok_or("no directory on the server's disk (--disk)")?;
    let block = bytes.min(MIB);
    let write = |n: usize| async move {
        let file = dir.join(format!("dd-reference-{n}.bin"));
        let status = tokio::process::Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", file.display()))
            .arg(format!("bs={block}"))
            .arg(format!("count={}", bytes.div_ceil(block)))
            .arg("conv=fdatasync")
            .arg("status=none")
            .status()
            .await
            .map_err(|e| format!("dd: {e}"))?;
        status.success().then_some(file).ok_or(format!("dd failed: {status}"))
    };
    let started = Instant::now();
    let written: Vec<_> =
        stream::iter(0..files).map(write).buffer_unordered(DD_AT_ONCE).collect().await;
    let secs = started.elapsed().as_secs_f64();
    for file in written.iter().flatten() {
        let _ = tokio::fs::remove_file(file).await;
    }
    written.into_iter().find_map(Result::err).map_or(Ok(secs), Err)
}
