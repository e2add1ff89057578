//! Runtime configuration: environment variables with matching command-line flags.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;

use super::{client::TrustedProxies, pace::MinPace};
use crate::store::{S3Location, S3Settings};

/// Uplink's settings. Every flag can also be set through the environment variable named
/// beside it, which is how `make run` and `cargo leptos watch` configure it.
#[derive(Debug, Clone, Parser)]
#[command(name = "uplink", version, about = "Upload files and watch them being processed, live.")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Directory holding the SQLite database and the stored files.
    #[arg(long, env = "UPLINK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Where accounts, uploads, the event log and job checkpoints live: unset for SQLite
    /// in the data directory; `postgres://…` for a PostgreSQL database that several
    /// nodes share.
    #[arg(long, env = "UPLINK_DATABASE_URL", value_parser = parse_database_url)]
    pub database_url: Option<String>,

    /// Where the uploaded bytes and extracted text live: unset for the data directory;
    /// `s3://bucket/prefix` for S3-compatible object storage that several nodes share
    /// (keys from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`).
    #[arg(long, env = "UPLINK_BLOB_STORE")]
    pub blob_store: Option<S3Location>,

    /// The S3-compatible server's URL, for one that is not AWS (MinIO, Ceph, Garage).
    #[arg(long, env = "UPLINK_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The bucket's region (default: `AWS_DEFAULT_REGION`, else `us-east-1`).
    #[arg(long, env = "UPLINK_S3_REGION")]
    pub s3_region: Option<String>,

    /// Allows an `http://` endpoint: `true` or `false` (the default).
    #[arg(long, env = "UPLINK_S3_ALLOW_HTTP", default_value = "false", value_parser = parse_bool)]
    pub s3_allow_http: bool,

    /// This node's name among several, in its logs and in the database's list of its
    /// connections (default: the host name and the process id).
    #[arg(long, env = "UPLINK_NODE_ID")]
    pub node_id: Option<String>,

    /// Largest accepted upload, in bytes (default 1 GiB).
    #[arg(long, env = "UPLINK_MAX_UPLOAD_BYTES", default_value_t = 1 << 30)]
    pub max_upload_bytes: u64,

    /// Accepted file types, as in an HTML `accept` attribute: comma-separated `.pdf`,
    /// `text/plain`, `image/*`. Empty (the default): any type. Checked against the file's
    /// name and declared type before it is stored; the dashboard refuses others unsent.
    #[arg(long, env = "UPLINK_ALLOWED_TYPES", default_value = "")]
    pub allowed_types: String,

    /// Files processed at once (default: the number of CPUs).
    #[arg(long, env = "UPLINK_WORKERS")]
    pub workers: Option<usize>,

    /// Longest one file may spend being processed: a number with a unit (plain seconds
    /// too), default 300 s.
    #[arg(long, env = "UPLINK_JOB_TIMEOUT", default_value = "300s", value_parser = parse_at_least_a_second)]
    pub job_timeout: Duration,

    /// Memory one PDF extraction may use, in MiB: a file that needs more (a
    /// decompression bomb, or a PDF larger than about half of it) fails `too_complex`.
    #[arg(long, env = "UPLINK_EXTRACT_MEMORY", default_value_t = 1024)]
    pub extract_memory_mib: u64,

    /// How long a running job stays its worker's without word from it: a number with a
    /// unit. The worker renews it every third of that; the jobs of a node that dies or
    /// stalls longer are taken by another node, which resumes them from their last page.
    #[arg(long, env = "UPLINK_JOB_LEASE", default_value = "60s", value_parser = parse_at_least_a_second)]
    pub job_lease: Duration,

    /// Reading the pages of a PDF that have no text but an image (scans) with Tesseract:
    /// `on` (the default) or `off`.
    #[arg(long, env = "UPLINK_OCR", default_value = "on", value_parser = parse_switch)]
    pub ocr: bool,

    /// Tesseract's languages for OCR, `+`-joined: `eng` (the default), `eng+deu`. Each
    /// needs its Debian package, `tesseract-ocr-<lang>`.
    #[arg(long, env = "UPLINK_OCR_LANGS", default_value = "eng")]
    pub ocr_langs: String,

    /// The longest OCR may spend on one page (default 60 s): a page that takes longer is
    /// left without text, and the rest are still read.
    #[arg(long, env = "UPLINK_OCR_PAGE_TIMEOUT", default_value = "60s", value_parser = parse_at_least_a_second)]
    pub ocr_page_timeout: Duration,

    /// The executable that runs extractions: this one, unless a test says otherwise.
    #[arg(skip)]
    pub extractor: Option<PathBuf>,

    /// An upload whose client sends nothing for this long (default 60 s) is abandoned.
    /// It is also the window over which `UPLINK_UPLOAD_MIN_RATE` is averaged.
    #[arg(long, env = "UPLINK_UPLOAD_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_at_least_a_second)]
    pub upload_idle_timeout: Duration,

    /// Bytes per second every request body (an upload above all) must bring, averaged
    /// over each `UPLINK_UPLOAD_IDLE_TIMEOUT` the server spends waiting for it; a slower
    /// one is abandoned (`0`: only the idle timeout).
    #[arg(long, env = "UPLINK_UPLOAD_MIN_RATE", default_value_t = 1024)]
    pub upload_min_rate: u64,

    /// A connection that has not sent a whole request head this long after it opened, or
    /// after its previous response ended (an idle keep-alive connection), is closed.
    #[arg(long, env = "UPLINK_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
    pub header_timeout: Duration,

    /// Connections open at once; more are answered `503` and closed. Default: the
    /// open-file limit, less 256 kept for files, the database and extraction children.
    #[arg(long, env = "UPLINK_MAX_CONNECTIONS", value_parser = parse_positive)]
    pub max_connections: Option<usize>,

    /// Connections one client address may hold open at once (through a trusted proxy:
    /// requests in progress).
    #[arg(long, env = "UPLINK_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_client: u32,

    /// Proxies whose `X-Forwarded-For` names the client, as addresses or CIDR ranges
    /// (`10.0.0.0/8,::1`); empty (the default): the connection's peer is the client.
    #[arg(long, env = "UPLINK_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// On shutdown, how long running jobs and open uploads get to finish (default 10 s);
    /// jobs still running then are stopped and resume from their checkpoint on the next
    /// start.
    #[arg(long, env = "UPLINK_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// How long the events of a finished upload are kept for replay: a number with a
    /// unit, `s`, `m`, `h` or `d` (default 7 days).
    #[arg(long, env = "UPLINK_EVENT_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub event_retention: Duration,

    /// Events buffered in memory per account with a stream open; a stream that falls
    /// further behind catches up from the durable log instead.
    #[arg(long, env = "UPLINK_EVENT_BUFFER", default_value_t = 256)]
    pub event_buffer: usize,

    /// Time between SSE keep-alive comments on an idle stream (default 15 s).
    #[arg(long, env = "UPLINK_SSE_KEEPALIVE", default_value = "15s", value_parser = parse_at_least_a_second)]
    pub sse_keepalive: Duration,

    /// The address people reach Uplink at, e.g. `https://uplink.example.com`: session
    /// cookies are `Secure` when it is https, and it is the one origin allowed to make
    /// state-changing requests (without it, the request's own Host is).
    #[arg(long, env = "UPLINK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How long a resumable (tus) upload may stay unfinished before it is removed: a
    /// number with a unit (default 24 hours). Each request that adds bytes restarts it.
    #[arg(long, env = "UPLINK_TUS_EXPIRY", default_value = "24h", value_parser = parse_at_least_a_second)]
    pub tus_expiry: Duration,

    /// Bytes the dashboard sends in each tus request (default 8 MiB): a dropped
    /// connection costs at most the chunk in flight, and each chunk is a request.
    #[arg(long, env = "UPLINK_TUS_CHUNK", default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range(64 * 1024..))]
    pub tus_chunk: u64,

    /// Origins whose pages may call the API from the browser, with credentials
    /// (comma-separated, like `https://app.example,http://localhost:5173`; empty, the
    /// default, for none): CORS for them, and their writes are not refused as cross-site.
    #[arg(long, env = "UPLINK_CORS_ORIGINS", default_value = "", value_parser = super::cors::parse_origins)]
    pub cors_origins: super::cors::CorsOrigins,

    /// How long a login lasts: a number with a unit (default 30 days).
    #[arg(long, env = "UPLINK_SESSION_TTL", default_value = "30d", value_parser = parse_duration)]
    pub session_ttl: Duration,

    /// A connection whose client accepts no bytes for this long is closed (a stalled
    /// event stream reconnects and replays what it missed): a number with a unit.
    #[arg(long, env = "UPLINK_WRITE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Bytes one account may keep stored, counting uploads still arriving (default
    /// 10 GiB; 0 for no limit).
    #[arg(long, env = "UPLINK_USER_QUOTA_BYTES", default_value_t = 10 << 30)]
    pub user_quota_bytes: u64,

    /// Uploads one account may have arriving at once.
    #[arg(long, env = "UPLINK_USER_MAX_IN_FLIGHT", default_value_t = 8)]
    pub user_max_in_flight: u32,

    /// How long an events token stays valid: a number with a unit (default 10 minutes).
    #[arg(long, env = "UPLINK_TOKEN_TTL", default_value = "10m", value_parser = parse_duration)]
    pub token_ttl: Duration,

    /// Event streams open at once per account, and per events token.
    #[arg(long, env = "UPLINK_USER_MAX_STREAMS", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub user_max_streams: u32,

    /// Accounts one client address may register per hour (`0`: no limit).
    #[arg(long, env = "UPLINK_REGISTRATIONS_PER_HOUR", default_value_t = 10)]
    pub registrations_per_hour: u32,

    /// Logins and registrations that may wait for a password hash at once; more are
    /// answered `503` with `Retry-After`.
    #[arg(long, env = "UPLINK_PASSWORD_QUEUE", default_value_t = 64, value_parser = parse_positive)]
    pub password_queue: usize,
}

fn parse_database_url(text: &str) -> Result<String, String> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_owned())
    } else {
        Err("a PostgreSQL URL, postgres://user:password@host:port/database".to_owned())
    }
}

impl Config {
    /// Defaults for a data directory, as tests and benchmarks want them.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Self::parse_from(["uplink"]);
        config.data_dir = data_dir.into();
        config.addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }

    /// The restrictions uploads are held to, as the dashboard shows them.
    pub fn limits(&self) -> shared::UploadLimits {
        shared::UploadLimits {
            max_upload_bytes: self.max_upload_bytes,
            allowed_types: shared::UploadLimits::parse_types(&self.allowed_types),
            tus_chunk: self.tus_chunk,
        }
    }

    /// How to reach the S3 bucket, when the bytes live in one.
    pub fn s3(&self) -> Option<S3Settings> {
        self.blob_store.clone().map(|location| S3Settings {
            location,
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            allow_http: self.s3_allow_http,
            keys: None,
        })
    }

    pub fn node_id(&self) -> String {
        self.node_id.clone().unwrap_or_else(|| {
            let host = rustix::system::uname().nodename().to_string_lossy().into_owned();
            format!("{host}-{}", std::process::id())
        })
    }

    pub fn workers(&self) -> usize {
        self.workers
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// How processing tools are started. Fails if poppler's are not installed, or if they
    /// cannot be confined here.
    pub fn sandbox(&self) -> std::io::Result<crate::processing::Sandbox> {
        let program = match &self.extractor {
            Some(program) => program.clone(),
            None => std::env::current_exe()?,
        };
        crate::processing::Tool::check_poppler()?;
        let sandbox = crate::processing::Sandbox {
            program,
            memory: self.extract_memory_mib.max(64) << 20,
            cpu_secs: self.job_timeout.as_secs().max(1),
        };
        sandbox.check()?;
        Ok(sandbox)
    }

    /// How scans are read, or `None` with OCR off. Fails if Tesseract or one of the
    /// languages is not installed.
    pub fn ocr(&self) -> std::io::Result<Option<crate::processing::Ocr>> {
        if !self.ocr {
            return Ok(None);
        }
        let ocr = crate::processing::Ocr {
            langs: self.ocr_langs.clone(),
            page_timeout: self.ocr_page_timeout,
        };
        ocr.check()?;
        Ok(Some(ocr))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
    }

    pub fn user_quota(&self) -> Option<u64> {
        (self.user_quota_bytes > 0).then_some(self.user_quota_bytes)
    }

    /// The pace every request body must keep.
    pub fn min_pace(&self) -> MinPace {
        MinPace { rate: self.upload_min_rate, window: self.upload_idle_timeout }
    }

    /// `UPLINK_MAX_CONNECTIONS`, or what the open-file limit leaves room for: each
    /// connection is a descriptor, and running out of them fails far worse than a `503`.
    pub fn max_connections(&self) -> usize {
        self.max_connections.unwrap_or_else(|| {
            let (soft, _) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
            let soft = usize::try_from(soft).unwrap_or(usize::MAX);
            soft.saturating_sub(RESERVED_DESCRIPTORS).max(soft / 2)
        })
    }
}

/// Descriptors kept back from connections by default: the database, stored files being
/// written and read, and each extraction child's three pipes.
const RESERVED_DESCRIPTORS: usize = 256;

/// A count that must be at least 1 (0 would refuse everything).
fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("`true` or `false`".into()),
    }
}

fn parse_switch(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("`on` or `off`".into()),
    }
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("not a number of at least 1: {text:?}")),
        Ok(n) => Ok(n),
    }
}

/// A duration that must not be zero (a zero timeout would refuse everything).
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("must be longer than zero: {text:?}")),
        positive => Ok(positive),
    }
}

/// A duration of which zero would stop everything: taken as one second, as these
/// settings always were.
fn parse_at_least_a_second(text: &str) -> Result<Duration, String> {
    Ok(parse_duration(text)?.max(Duration::from_secs(1)))
}

/// `90s`, `15m`, `12h`, `7d`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) =
        text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().map_err(|_| format!("not a duration: {text:?}"))?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit in {text:?}: use s, m, h or d")),
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let cases = [("90", 90), ("90s", 90), ("15m", 900), ("12h", 43_200), ("7d", 604_800)];
        for (text, seconds) in cases {
            assert_eq!(parse_duration(text), Ok(Duration::from_secs(seconds)), "{text}");
        }
        for bad in ["", "d", "7w", "-1d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_that_would_refuse_everything_are_refused_at_start() {
        for (flag, value) in [
            ("--header-timeout", "0s"),
            ("--max-connections", "0"),
            ("--max-connections-per-client", "0"),
            ("--user-max-streams", "0"),
            ("--password-queue", "0"),
        ] {
            assert!(Config::try_parse_from(["uplink", flag, value]).is_err(), "{flag} {value}");
        }
        let config = Config::try_parse_from(["uplink", "--registrations-per-hour", "0"]).unwrap();
        assert_eq!(config.registrations_per_hour, 0, "0 registrations per hour: no limit");
    }
}
