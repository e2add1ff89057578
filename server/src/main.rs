//! `uplink`: reads configuration and serves until Ctrl-C or SIGTERM. Started with
//! `__confined`, it is instead a running server's confined processing tool; with
//! `migrate`, it copies an embedded deployment's metadata into PostgreSQL.

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use tracing_subscriber::EnvFilter;
use uplink::{processing, AppState, Config};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(processing::CHILD_COMMAND) {
        return processing::run_child(&args[2..]);
    }
    let migrating = args.get(1).map(String::as_str) == Some("migrate");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = if migrating {
        runtime.block_on(migrate(Migrate::parse_from(args.iter().skip(1))))
    } else {
        runtime.block_on(serve())
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uplink: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `uplink migrate`: an embedded deployment's metadata into the PostgreSQL database
/// several nodes will share.
#[derive(Parser)]
#[command(name = "uplink migrate")]
struct Migrate {
    /// The PostgreSQL database to copy into: `postgres://user:password@host/database`.
    #[arg(long)]
    to: String,
    /// Where the bytes go (`s3://bucket/prefix`), reached as a node reaches it
    /// (`UPLINK_S3_ENDPOINT`, `UPLINK_S3_REGION`, `UPLINK_S3_ALLOW_HTTP`, AWS keys).
    /// Without it, they stay in the data directory for the nodes to share.
    #[arg(long)]
    blobs_to: Option<uplink::store::S3Location>,
    #[arg(long, env = "UPLINK_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    #[arg(long, env = "UPLINK_S3_REGION")]
    s3_region: Option<String>,
    #[arg(long, env = "UPLINK_S3_ALLOW_HTTP", default_value = "false",
          value_parser = clap::builder::BoolishValueParser::new())]
    s3_allow_http: bool,
    /// The embedded deployment's data directory.
    #[arg(long, env = "UPLINK_DATA_DIR", default_value = "./data")]
    data_dir: std::path::PathBuf,
}

async fn migrate(args: Migrate) -> Result<(), Box<dyn std::error::Error>> {
    let blobs = match args.blobs_to {
        Some(location) => {
            let settings = uplink::store::S3Settings {
                location,
                endpoint: args.s3_endpoint,
                region: args.s3_region,
                allow_http: args.s3_allow_http,
                keys: None,
            };
            Some(uplink::store::S3BlobStore::open(&settings).await?)
        }
        None => None,
    };
    let to = uplink::store::PgRepo::open(&args.to, 4, "migrate", Duration::from_secs(60)).await?;
    let moved = uplink::store::migrate::sqlite_to_postgres(
        &args.data_dir,
        &to,
        blobs.as_ref().map(|b| b as &dyn uplink::store::BlobStore),
    )
    .await?;
    println!("{moved}");
    uplink::store::MetadataRepo::close(&to).await?;
    Ok(())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let config = Config::parse();
    let mut leptos_options = uplink::leptos_options();
    leptos_options.site_addr = config.addr;
    // Every open stream is a descriptor: use all the hard limit allows (often 4 times
    // the soft one), as servers of many connections do.
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%error, "could not raise the open-file limit");
    }
    let listener = listen(config.addr)?;
    tracing::info!(
        addr = %listener.local_addr()?,
        data_dir = %config.data_dir.display(),
        workers = config.workers(),
        "Uplink listening on http://{}",
        listener.local_addr()?
    );
    let state = AppState::open(config, leptos_options).await?;
    uplink::run(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// Connections a burst may leave waiting to be accepted; the kernel caps it at
/// `net.core.somaxconn`. tokio's `TcpListener::bind` asks for 1,024, which a thousand
/// uploads starting at once overflowed (`make bench`, ingest): the kernel then drops
/// connections the client already counts as open, and some of those fail.
const BACKLOG: u32 = 4096;

fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
