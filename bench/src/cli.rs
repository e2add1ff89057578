//! Command-line options, and the plan they resolve to (full or `--quick` defaults).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "uplink-bench", about = "Load and latency figures for an Uplink server")]
pub struct Cli {
    /// What to measure; all six by default.
    #[arg(value_enum)]
    pub sections: Vec<Part>,
    /// Measure a server already running (`http://127.0.0.1:3000`) instead of starting one.
    /// Only the HTTP contract is used.
    #[arg(long)]
    pub url: Option<String>,
    /// With `--url`, the server's pid on this machine, for its memory and CPU figures.
    #[arg(long)]
    pub pid: Option<u32>,
    /// With `--url`, a directory on the server's disk for `dd`'s reference write.
    #[arg(long)]
    pub disk: Option<PathBuf>,
    /// The server binary to start when there is no `--url`; by default `uplink` beside
    /// this tool's own binary (the same `cargo build`, wherever its target directory is).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Where the fresh data directory and the server's log go.
    #[arg(long, default_value = "target/bench")]
    pub scratch: PathBuf,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/bench/report.json")]
    pub json: PathBuf,
    /// Smaller figures that run in well under a minute, for checking a change.
    #[arg(long)]
    pub quick: bool,
    /// Concurrent SSE subscribers (`/api/events`).
    #[arg(long)]
    pub subscribers: Option<usize>,
    /// Accounts the subscribers and uploads are spread over.
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Events per second the fan-out load aims at (slow uploads, 5 progress events/s each).
    #[arg(long)]
    pub events_per_sec: Option<usize>,
    /// Seconds of fan-out load.
    #[arg(long)]
    pub load_secs: Option<u64>,
    /// Seconds the idle connections are held.
    #[arg(long)]
    pub idle_secs: Option<u64>,
    /// Size of the one tus upload, MiB.
    #[arg(long)]
    pub tus_mib: Option<u64>,
    /// Where @tus/server is installed for the tus comparison (`make bench` installs it).
    #[arg(long, default_value = "target/bench/tus-node")]
    pub tus_node: PathBuf,
    /// Size of the one big upload, MiB.
    #[arg(long)]
    pub big_mib: Option<u64>,
    /// How many small uploads are sent at once.
    #[arg(long)]
    pub small_files: Option<usize>,
    /// Size of each small upload, KiB.
    #[arg(long)]
    pub small_kib: Option<u64>,
    /// Pages of the end-to-end PDF.
    #[arg(long)]
    pub pages: Option<u32>,
    /// Connections that never finish their headers, held beside an ordinary client.
    #[arg(long)]
    pub slow_connections: Option<usize>,
    /// Uploads the ordinary client makes, alone and then beside the slow connections.
    #[arg(long)]
    pub ordinary_uploads: Option<usize>,
    /// Clients uploading at once in the several-nodes section.
    #[arg(long)]
    pub node_publishers: Option<usize>,
    /// Loopback source addresses the connections are spread over.
    #[arg(long, default_value_t = 16)]
    pub sources: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Part {
    Fanout,
    Idle,
    Ingest,
    E2e,
    Headers,
    Tus,
    /// One node on SQLite against one on PostgreSQL, and one, two and three behind nginx
    /// (needs `scripts/with-services`, which `make bench` runs it under).
    Nodes,
}

/// Every figure's parameters, decided.
#[derive(Debug, Clone)]
pub struct Plan {
    pub subscribers: usize,
    pub accounts: usize,
    pub events_per_sec: usize,
    pub load_secs: u64,
    pub idle_secs: u64,
    pub big_mib: u64,
    pub tus_mib: u64,
    pub small_files: usize,
    pub small_kib: u64,
    pub pages: u32,
    pub slow_connections: usize,
    pub ordinary_uploads: usize,
    pub node_publishers: usize,
    pub sources: u8,
    url: Option<String>,
}

impl Cli {
    pub fn server_binary(&self) -> PathBuf {
        let beside = || Some(std::env::current_exe().ok()?.parent()?.join("uplink"));
        self.server.clone().or_else(beside).unwrap_or_else(|| "uplink".into())
    }

    pub fn parts(&self) -> Vec<Part> {
        if self.sections.is_empty() {
            vec![
                Part::Fanout,
                Part::Idle,
                Part::Ingest,
                Part::E2e,
                Part::Headers,
                Part::Tus,
                Part::Nodes,
            ]
        } else {
            self.sections.clone()
        }
    }

    pub fn plan(&self) -> Plan {
        let quick = self.quick;
        let pick = |set: Option<u64>, full: u64, short: u64| {
            set.unwrap_or(if quick { short } else { full })
        };
        let subscribers = pick(self.subscribers.map(|n| n as u64), 10_000, 1_000) as usize;
        Plan {
            subscribers,
            // Ten dashboards per account: each event goes to ten streams, not to all.
            accounts: pick(self.accounts.map(|n| n as u64), (subscribers as u64 / 10).max(1), 100)
                as usize,
            events_per_sec: pick(self.events_per_sec.map(|n| n as u64), 1_000, 200) as usize,
            load_secs: pick(self.load_secs, 20, 5),
            idle_secs: pick(self.idle_secs, 60, 5),
            big_mib: pick(self.big_mib, 1024, 128),
            tus_mib: pick(self.tus_mib, 1024, 128),
            small_files: pick(self.small_files.map(|n| n as u64), 1_000, 200) as usize,
            small_kib: pick(self.small_kib, 100, 100),
            pages: pick(self.pages.map(u64::from), 200, 50) as u32,
            slow_connections: pick(self.slow_connections.map(|n| n as u64), 5_000, 500) as usize,
            ordinary_uploads: pick(self.ordinary_uploads.map(|n| n as u64), 50, 10) as usize,
            node_publishers: pick(self.node_publishers.map(|n| n as u64), 16, 8) as usize,
            sources: self.sources,
            url: self.url.clone(),
        }
    }
}

impl Plan {
    /// The command that measures `part` again with these parameters.
    pub fn command(&self, part: &str, args: &[(&str, String)]) -> String {
        let mut line = format!("make bench-load ARGS='{part}");
        for (flag, value) in args {
            line.push_str(&format!(" --{flag} {value}"));
        }
        if let Some(url) = &self.url {
            line.push_str(&format!(" --url {url}"));
        }
        line.push('\'');
        line
    }
}
