//! A PostgreSQL database of its own for each test, made in the cluster named by
//! `UPLINK_TEST_DATABASE_URL` (`make test` starts a throwaway one with
//! `scripts/with-services`). A test that needs PostgreSQL never skips: without the
//! variable it fails, saying how to get one.

use std::{
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

use sqlx::{Connection, PgConnection};

/// The variable naming the cluster tests make their databases in.
pub const URL_VARIABLE: &str = "UPLINK_TEST_DATABASE_URL";

/// The URL of the cluster's maintenance database.
pub fn cluster_url() -> String {
    std::env::var(URL_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{URL_VARIABLE} is not set: run the tests with `make test`, or as \
             `scripts/with-services cargo test …`, which starts a throwaway PostgreSQL"
        )
    })
}

/// Creates an empty database in the tests' cluster and returns its URL. Its name is
/// unique to this process and call, so tests running at once never share one.
pub async fn fresh_database() -> String {
    fresh_database_in(&cluster_url()).await
}

/// [`fresh_database`] in the cluster whose maintenance database is at `cluster`.
pub async fn fresh_database_in(cluster: &str) -> String {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let name =
        format!("uplink_test_{}_{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
    let mut conn = PgConnection::connect(cluster)
        .await
        .unwrap_or_else(|error| panic!("connecting to {cluster}: {error}"));
    // A name cannot be a bound parameter; this one is made of safe characters above.
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    with_database(cluster, &name)
}

/// `url` signing in as `user` with `password` instead.
pub fn as_user(url: &str, user: &str, password: &str) -> String {
    let authority = url.find("://").map_or(0, |scheme| scheme + 3);
    let host_end = url[authority..].find(['/', '?']).map_or(url.len(), |at| authority + at);
    // The user information ends at the last `@` before the path.
    let host = url[authority..host_end].rfind('@').map_or(authority, |at| authority + at + 1);
    format!("{}{user}:{password}@{}", &url[..authority], &url[host..])
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |scheme| scheme + 3);
    let host_end = base[authority_end..].find('/').map_or(base.len(), |at| authority_end + at);
    let mut made = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        made.push('?');
        made.push_str(query);
    }
    made
}

/// A PostgreSQL cluster of a test's own, for a test that restarts it (which would break
/// every other test using a shared one): `initdb` into a temporary directory, on a free
/// port of 127.0.0.1, stopped when dropped.
pub struct Cluster {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Makes and starts one with Debian's PostgreSQL (`make postgresql` installs it).
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is not installed: make postgresql")
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("no initdb under /usr/lib/postgresql");
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        // postgres will not run as root; as root, the package's user runs it.
        if rustix::process::getuid().is_root() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            run(Command::new("chown").arg("postgres").arg(&data));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Self { bin, data, port, _dir: dir };
        run(cluster
            .command("initdb")
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .arg("-D")
            .arg(&cluster.data));
        cluster.pg_ctl("start");
        cluster
    }

    /// The URL of its maintenance database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Restarts it, waiting until it accepts connections again: every connection to it
    /// is lost, as in a real restart.
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        let mut command = self.command("pg_ctl");
        command.arg("-D").arg(&self.data).args(["-m", "fast", "-w", "-o", &options, action]);
        command.arg("-l").arg(self.data.join("server.log"));
        run(&mut command);
    }

    /// `program` of the cluster's binaries, as the user that may run it.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if rustix::process::getuid().is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(output.status.success(), "{command:?}: {}", String::from_utf8_lossy(&output.stderr));
}

#[cfg(test)]
mod tests {
    use super::{as_user, with_database};

    #[test]
    fn the_database_name_is_replaced_and_the_options_kept() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5/postgres", "t"),
            "postgres://u@127.0.0.1:5/t"
        );
        assert_eq!(with_database("postgres://u@h:5", "t"), "postgres://u@h:5/t");
        assert_eq!(as_user("postgres://u:p@h:5/d?x=1", "v", "q"), "postgres://v:q@h:5/d?x=1");
        assert_eq!(as_user("postgres://h/d", "v", "q"), "postgres://v:q@h/d");
        assert_eq!(
            with_database("postgres://u@h/x?sslmode=require", "t"),
            "postgres://u@h/t?sslmode=require"
        );
    }
}
