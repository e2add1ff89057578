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
    /// Where the bytes go (`s3://bucket/prefix`): not supported yet; they stay in the
    /// data directory, which the nodes share.
    #[arg(long)]
    blobs_to: Option<String>,
    /// The embedded deployment's data directory.
    #[arg(long, env = "UPLINK_DATA_DIR", default_value = "./data")]
    data_dir: std::path::PathBuf,
}

async fn migrate(args: Migrate) -> Result<(), Box<dyn std::error::Error>> {
    if args.blobs_to.is_some() {
        return Err("--blobs-to: S3-compatible storage is not supported yet; \
                    the bytes stay in the data directory, which the nodes share"
            .into());
    }
    let to = uplink::store::PgRepo::open(&args.to, 4, "migrate", Duration::from_secs(60)).await?;
    let moved = uplink::store::migrate::sqlite_to_postgres(&args.data_dir, &to).await?;
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
