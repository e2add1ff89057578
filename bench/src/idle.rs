//! Idle cost: the subscribers held with nothing happening, for a while. What each open
//! stream costs in server memory, and what its keep-alives cost in CPU.

use std::{sync::atomic::Ordering, time::Duration};

use crate::{
    cli::Plan,
    probe::Probe,
    report::{kib, mib, per_stream, Section, NO_PID},
    subscribers::Pool,
};

/// Memory per idle connection: the goal, and the leanest SSE servers' figure.
const GOAL_BYTES: f64 = 10.0 * 1024.0;

pub async fn measure(
    plan: &Plan,
    pool: &Pool,
    probe: Option<Probe>,
    baseline: Option<u64>,
) -> Section {
    let held = pool.open_now();
    let cpu_before = probe.and_then(|p| p.cpu());
    let keep_alives_before = pool.tally.keep_alives.load(Ordering::Relaxed);
    let hold = Duration::from_secs(plan.idle_secs);
    eprintln!("idle: holding {held} streams for {} s", plan.idle_secs);
    tokio::time::sleep(hold).await;
    let keep_alives = pool.tally.keep_alives.load(Ordering::Relaxed) - keep_alives_before;
    let cpu = probe.and_then(|p| Some(p.cpu()?.since(cpu_before?)));
    let rss = probe.and_then(|p| p.rss());
    let still_held = pool.open_now();

    let mut section = Section::new(
        "Idle cost",
        plan.command(
            "idle",
            &[
                ("subscribers", plan.subscribers.to_string()),
                ("accounts", plan.accounts.to_string()),
                ("idle-secs", plan.idle_secs.to_string()),
            ],
        ),
    );
    section.row(
        "idle streams held",
        format!("{still_held} of {} for {} s", plan.subscribers, plan.idle_secs),
    );
    let per_connection = per_stream(rss, baseline, still_held);
    section.row(
        "server RSS before / with the streams",
        match (baseline, rss) {
            (Some(base), Some(rss)) => format!("{} / {}", mib(base as f64), mib(rss as f64)),
            _ => NO_PID.into(),
        },
    );
    section.goal(
        "server RSS per idle stream",
        per_connection.map_or("unknown".into(), kib),
        "< 10 KiB (aim < 1 KiB)",
        per_connection.map(|bytes| bytes < GOAL_BYTES),
    );
    section.row("keep-alives received", keep_alives.to_string());
    section.row(
        "server CPU while idle",
        match cpu {
            Some(cpu) => format!(
                "{:.2} s in {} s ({:.3} ms per keep-alive)",
                cpu.own,
                plan.idle_secs,
                if keep_alives > 0 { cpu.own * 1000.0 / keep_alives as f64 } else { 0.0 }
            ),
            None => NO_PID.into(),
        },
    );
    section
        .figure("held", still_held)
        .figure("hold_secs", plan.idle_secs)
        .figure("rss_before_bytes", baseline)
        .figure("rss_bytes", rss)
        .figure("rss_per_stream_bytes", per_connection)
        .figure("keep_alives", keep_alives)
        .figure("cpu_secs", cpu.map(|cpu| cpu.own));
    section
}
