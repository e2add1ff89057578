//! The server under test: a release build started here on a fresh data directory, or
//! one already running (`--url`), known only by its address.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, Command},
};

use crate::{client::Error, probe::Probe};

pub struct Target {
    pub addr: SocketAddr,
    /// For RSS and CPU; only when the server runs on this machine with a known pid.
    pub probe: Option<Probe>,
    /// A directory on the server's disk, for `dd`'s reference write.
    pub disk: Option<PathBuf>,
    child: Option<Child>,
    _data: Option<tempfile::TempDir>,
}

/// Settings for the server this tool starts: limits that would otherwise refuse a load
/// test (ten thousand uploads from a few accounts, a 1 GiB file plus its form).
const SERVER_ENV: &[(&str, &str)] = &[
    ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
    // A thousand accounts and ten thousand streams come from a few loopback addresses.
    ("UPLINK_REGISTRATIONS_PER_HOUR", "1000000"),
    ("UPLINK_MAX_CONNECTIONS_PER_CLIENT", "1000000"),
    ("UPLINK_USER_MAX_IN_FLIGHT", "100000"),
    ("UPLINK_USER_QUOTA_BYTES", "0"),
    ("UPLINK_MAX_UPLOAD_BYTES", "4294967296"),
    ("NO_COLOR", "1"),
];

impl Target {
    /// A server already running at `url` (`http://host:port`).
    pub fn running(url: &str, pid: Option<u32>, disk: Option<PathBuf>) -> Result<Self, Error> {
        let authority = url.trim_start_matches("http://").trim_end_matches('/');
        let addr = authority
            .to_socket_addrs()?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| format!("{url}: no IPv4 address"))?;
        Ok(Self { addr, probe: pid.map(Probe::new), disk, child: None, _data: None })
    }

    /// Starts `binary` on a fresh data directory under `scratch` (on the disk the
    /// figures are about) and waits until it answers `/healthz`.
    pub async fn start(binary: &Path, scratch: &Path) -> Result<Self, Error> {
        Self::start_with(binary, scratch, "server", &[]).await
    }

    /// [`Target::start`] with more settings, its log in `<scratch>/<name>.log`.
    pub async fn start_with(
        binary: &Path,
        scratch: &Path,
        name: &str,
        env: &[(&str, String)],
    ) -> Result<Self, Error> {
        std::fs::create_dir_all(scratch)?;
        let data = tempfile::Builder::new().prefix("data-").tempdir_in(scratch)?;
        let log_path = scratch.join(format!("{name}.log"));
        let mut child = Command::new(binary)
            .envs(SERVER_ENV.iter().copied())
            .envs(env.iter().map(|(key, value)| (key, value.as_str())))
            .env("UPLINK_DATA_DIR", data.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path)?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!("cannot start {}: {e} (build it: make bench)", binary.display())
            })?;
        let pid = child.id().ok_or("the server exited at once")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let Some(line) = lines.next_line().await? else {
                return Err(format!("the server exited; see {}", log_path.display()).into());
            };
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap_or_default().parse::<SocketAddr>()?;
            }
        };
        // Keeps the server's log without ever blocking it on a full pipe.
        let mut log = tokio::fs::OpenOptions::new().append(true).open(&log_path).await?;
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = log.write_all(format!("{line}\n").as_bytes()).await;
            }
        });
        let target = Self {
            addr,
            probe: Some(Probe::new(pid)),
            disk: Some(data.path().to_owned()),
            child: Some(child),
            _data: Some(data),
        };
        Ok(target)
    }

    /// Stops a server this tool started (its data directory goes with it).
    pub async fn stop(mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill().await;
        }
    }
}
