//! nginx running `deploy/nginx.conf`, the file the README gives, in front of real
//! `uplink` processes: for the tests of several nodes and for the load tool's.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// nginx, on a free port, in front of `upstreams`.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    /// Runs `deploy/nginx.conf` with `upstreams` for its `server` lines and a free port
    /// for its `listen` line, and waits until its workers have started (it has bound its
    /// port by then).
    pub async fn start(upstreams: &[SocketAddr]) -> Self {
        let conf = std::fs::read_to_string(repository().join("deploy/nginx.conf")).unwrap();
        let addr = free_addr();
        let servers: String = upstreams.iter().map(|a| format!("        server {a};\n")).collect();
        let mut lines: Vec<String> = Vec::new();
        let mut replaced_servers = false;
        for line in conf.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("server 127.0.0.1:") {
                if !replaced_servers {
                    lines.push(servers.trim_end().to_owned());
                    replaced_servers = true;
                }
            } else if trimmed.starts_with("listen ") {
                lines.push(format!("        listen {addr};"));
            } else {
                lines.push(line.to_owned());
            }
        }
        assert!(replaced_servers, "deploy/nginx.conf names its upstream servers");
        let prefix = tempfile::tempdir().unwrap();
        std::fs::create_dir(prefix.path().join("tmp")).unwrap();
        let conf_path = prefix.path().join("nginx.conf");
        std::fs::write(&conf_path, lines.join("\n")).unwrap();
        let mut child = Command::new(nginx())
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off; master_process on;"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx runs (make nginx installs Debian's nginx-light)");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        loop {
            let line = lines.next_line().await.unwrap().expect("nginx exited early");
            if line.contains("start worker process") {
                break;
            }
            assert!(!line.contains("[emerg]"), "nginx: {line}");
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, addr, _prefix: prefix }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master stops its workers before it exits, so none is
        // left holding the port.
        if let Some(pid) =
            self.child.id().and_then(|pid| rustix::process::Pid::from_raw(pid as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

/// The repository this crate is in.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn nginx() -> &'static str {
    if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

/// A port of 127.0.0.1 nobody listens on now (nginx cannot be given a socket, only an
/// address).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}
