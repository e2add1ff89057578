//! Several real `uplink` processes on one PostgreSQL database and one S3 bucket behind a
//! real nginx running `deploy/nginx.conf`, the file the README gives: the deployment as
//! people run it.

use std::net::SocketAddr;

pub use testkit::nginx::Nginx;

use super::process::Process;

/// `count` nodes on a fresh database and a fresh bucket, each with a data directory of
/// its own (they share nothing on disk), behind nginx.
pub struct Cluster {
    pub proxy: Nginx,
    pub bucket: testkit::s3::Bucket,
    /// Killed when the cluster is dropped.
    nodes: Vec<Process>,
    _dirs: Vec<tempfile::TempDir>,
}

/// Everything under this prefix of a cluster's bucket.
pub const PREFIX: &str = "cluster";

impl Cluster {
    pub async fn start(count: usize) -> Self {
        let database = testkit::postgres::fresh_database().await;
        let bucket = testkit::s3::fresh_bucket().await;
        let (mut nodes, mut dirs) = (Vec::new(), Vec::new());
        for n in 0..count {
            let dir = tempfile::tempdir().unwrap();
            let name = format!("node-{n}");
            let mut env = vec![
                ("UPLINK_DATABASE_URL", database.clone()),
                ("UPLINK_NODE_ID", name),
                ("UPLINK_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
            ];
            env.extend(bucket.env(PREFIX));
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            nodes.push(Process::start_with_env(dir.path(), &env).await);
            dirs.push(dir);
        }
        let upstreams: Vec<SocketAddr> = nodes.iter().map(|node| node.addr).collect();
        let proxy = Nginx::start(&upstreams).await;
        Self { proxy, bucket, nodes, _dirs: dirs }
    }

    pub fn url(&self, path: &str) -> String {
        self.proxy.url(path)
    }

    /// `path` on node `n` itself, past the proxy.
    pub fn node_url(&self, n: usize, path: &str) -> String {
        self.nodes[n].url(path)
    }
}
