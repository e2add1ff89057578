//! The results: a table for the terminal (each section with the command that reproduces
//! it) and the same figures as JSON, for comparing runs.

use std::{fmt::Write, path::Path};

use serde::Serialize;
use serde_json::{Map, Value};

/// One figure: what it is, its value as shown, and the goal it is held against.
#[derive(Serialize)]
pub struct Row {
    pub metric: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
}

#[derive(Serialize)]
pub struct Section {
    pub name: &'static str,
    /// The command that measures this section again, on its own.
    pub command: String,
    pub rows: Vec<Row>,
    /// The raw figures, unrounded.
    pub figures: Map<String, Value>,
}

impl Section {
    pub fn new(name: &'static str, command: String) -> Self {
        Self { name, command, rows: Vec::new(), figures: Map::new() }
    }

    pub fn row(&mut self, metric: &str, value: String) -> &mut Self {
        self.rows.push(Row { metric: metric.into(), value, goal: None, met: None });
        self
    }

    /// A figure held against a goal; `met` is `None` when it could not be measured.
    pub fn goal(
        &mut self,
        metric: &str,
        value: String,
        goal: &str,
        met: Option<bool>,
    ) -> &mut Self {
        self.rows.push(Row { metric: metric.into(), value, goal: Some(goal.into()), met });
        self
    }

    pub fn figure(&mut self, key: &str, value: impl Serialize) -> &mut Self {
        self.figures.insert(key.into(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }
}

/// The machine the figures were taken on.
#[derive(Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn this() -> Self {
        let read = |path| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_else(|| "unknown".into());
        let memory_kib = read("/proc/meminfo")
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{}, {} cores, {} GiB, Linux {}",
            self.cpu, self.cores, self.memory_gib, self.kernel
        )
    }
}

#[derive(Serialize)]
pub struct Report {
    pub started_at: String,
    pub server: String,
    pub machine: Machine,
    pub sections: Vec<Section>,
}

impl Report {
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\nUplink benchmark, {}", self.started_at);
        let _ = writeln!(out, "server: {}\nmachine: {}", self.server, self.machine.describe());
        for section in &self.sections {
            let _ = writeln!(out, "\n== {} ==\n   $ {}", section.name, section.command);
            let width = section.rows.iter().map(|row| row.metric.len()).max().unwrap_or(0);
            let value_width = section.rows.iter().map(|row| row.value.len()).max().unwrap_or(0);
            for row in &section.rows {
                let _ = write!(out, "   {:width$}  {:value_width$}", row.metric, row.value);
                if let Some(goal) = &row.goal {
                    let verdict = match row.met {
                        Some(true) => "met",
                        Some(false) => "MISSED",
                        None => "unknown",
                    };
                    let _ = write!(out, "  goal {goal}: {verdict}");
                }
                out.push('\n');
            }
        }
        out
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)?)
    }
}

/// What a figure that needs the server's `/proc` shows without it.
pub const NO_PID: &str = "unknown (no --pid)";

/// Server memory per open stream: the growth from `before` to `now` over `streams`.
pub fn per_stream(now: Option<u64>, before: Option<u64>, streams: usize) -> Option<f64> {
    match (now, before) {
        (Some(now), Some(before)) if streams > 0 => {
            Some((now as f64 - before as f64) / streams as f64)
        }
        _ => None,
    }
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// Bytes as KiB with two decimals.
pub fn kib(bytes: f64) -> String {
    format!("{:.2} KiB", bytes / 1024.0)
}
