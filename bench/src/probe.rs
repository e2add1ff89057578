//! The server process as the kernel sees it: resident memory, its peak, and CPU time,
//! read from `/proc/PID`. Only when the server runs on this machine and the tool knows
//! its pid; figures that need it are reported as unknown otherwise.

use std::{
    fs,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// Linux reports CPU times in clock ticks of `USER_HZ`, 100 on every architecture it
/// exposes to user space.
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Clone, Copy)]
pub struct Probe {
    pid: u32,
}

impl Probe {
    pub fn new(pid: u32) -> Self {
        Self { pid }
    }

    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// Resident set size, bytes.
    pub fn rss(&self) -> Option<u64> {
        self.status_kib("VmRSS:").map(|kib| kib * 1024)
    }

    /// The peak resident set size since the start or the last [`Probe::reset_peak`].
    pub fn peak(&self) -> Option<u64> {
        self.status_kib("VmHWM:").map(|kib| kib * 1024)
    }

    /// Starts the peak over from the present (`clear_refs` value 5, Linux 4.0+).
    pub fn reset_peak(&self) -> bool {
        fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }

    /// CPU seconds used by the server itself (user + system), and by the children it
    /// has waited for (its extraction sandboxes).
    pub fn cpu(&self) -> Option<Cpu> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the command name, which may itself hold spaces and parentheses.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |n: usize| fields.get(n)?.parse::<f64>().ok();
        // utime, stime, cutime, cstime are fields 14 to 17; this list starts at field 3.
        Some(Cpu {
            own: (ticks(11)? + ticks(12)?) / TICKS_PER_SEC,
            children: (ticks(13)? + ticks(14)?) / TICKS_PER_SEC,
        })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Cpu {
    pub own: f64,
    pub children: f64,
}

impl Cpu {
    pub fn since(self, start: Cpu) -> Cpu {
        Cpu { own: self.own - start.own, children: self.children - start.children }
    }
}

/// Peak memory over a stretch of work: the kernel's own high-water mark when it can be
/// reset, and samples every 10 ms as well (which miss short spikes, but work wherever
/// `/proc/PID/status` is readable).
pub struct PeakWatch {
    probe: Probe,
    reset: bool,
    sampled: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl PeakWatch {
    pub fn start(probe: Probe) -> Self {
        let reset = probe.reset_peak();
        let sampled = Arc::new(AtomicU64::new(probe.rss().unwrap_or(0)));
        let sampler = tokio::spawn({
            let sampled = Arc::clone(&sampled);
            async move {
                let mut every = tokio::time::interval(Duration::from_millis(10));
                loop {
                    every.tick().await;
                    if let Some(rss) = probe.rss() {
                        sampled.fetch_max(rss, Ordering::Relaxed);
                    }
                }
            }
        });
        Self { probe, reset, sampled, sampler }
    }

    pub fn finish(self) -> u64 {
        self.sampler.abort();
        let sampled = self.sampled.load(Ordering::Relaxed);
        match self.probe.peak() {
            Some(peak) if self.reset => peak.max(sampled),
            _ => sampled,
        }
    }
}
