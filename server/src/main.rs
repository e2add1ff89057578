//! `uplink`: reads configuration and serves until Ctrl-C or SIGTERM. Started with
//! `__extract-pdf`, it is instead a sandboxed extraction child of a running server.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use uplink::{processing, AppState, Config};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(processing::CHILD_COMMAND) {
        return processing::run_child(&args[2..]);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uplink: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lopdf=error")),
        )
        .init();
    let config = Config::parse();
    let mut leptos_options = uplink::leptos_options();
    leptos_options.site_addr = config.addr;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
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
