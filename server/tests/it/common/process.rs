//! The real `uplink` binary in a child process, on a free port.

use std::{ffi::OsStr, net::SocketAddr, path::Path, process::Stdio};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    /// Starts `uplink` on a free port and waits until it says where it listens.
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_under(data_dir, &[] as &[&str]).await
    }

    /// The same, run by `wrapper` (a command and its arguments, to which the server's
    /// own command line is appended): `unshare …`, say.
    pub async fn start_under(data_dir: &Path, wrapper: &[impl AsRef<OsStr>]) -> Self {
        Self::spawn(data_dir, wrapper, &[]).await
    }

    /// Starts `uplink` with `env` set as well (a node of several: its database, its name).
    pub async fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn(data_dir, &[] as &[&str], env).await
    }

    async fn spawn(data_dir: &Path, wrapper: &[impl AsRef<OsStr>], env: &[(&str, &str)]) -> Self {
        let uplink = env!("CARGO_BIN_EXE_uplink");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(uplink);
                command
            }
            None => Command::new(uplink),
        };
        let mut child = command
            .args(["--addr", "127.0.0.1:0", "--workers", "1", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .env_remove("LEPTOS_OUTPUT_NAME")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next_line().await.unwrap().expect("the server exited early");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                break addr.parse().unwrap();
            }
        };
        // Keep reading, so a full pipe never blocks the server's logging.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends `signal` to the server (`STOP` freezes it, `CONT` lets it go on).
    pub fn signal(&self, signal: rustix::process::Signal) {
        let pid = self.child.id().expect("the server is running");
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("a process id");
        rustix::process::kill_process(pid, signal).unwrap();
    }

    pub async fn kill(mut self) {
        // tokio's kill is SIGKILL on Unix: no shutdown code runs.
        self.child.kill().await.unwrap();
    }
}
