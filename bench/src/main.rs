//! `uplink-bench`: Uplink's load tool. It measures, over the HTTP contract alone (uploads,
//! `/api/events`, an upload's events, the events' `at`), how many SSE streams a server
//! holds and how fast events reach them, what an idle stream costs, how fast uploads are
//! stored against `dd`, how long a PDF takes from first byte to `done`, and what
//! thousands of connections that never finish their headers do to an ordinary client.
//!
//! Without `--url` it starts the release server on a fresh data directory, so the memory
//! and CPU figures are that server's alone. Prints a table (each section with the command
//! that measures it again) and writes the same figures as JSON.

mod cli;
mod client;
mod e2e;
mod fanout;
mod follow;
mod headers;
mod idle;
mod ingest;
mod nodes;
mod probe;
mod report;
mod sse;
mod stats;
mod subscribers;
mod target;
mod tus;

use std::{process::ExitCode, sync::Arc, time::Instant};

use clap::Parser;
use futures_util::{stream, StreamExt};

use crate::{
    cli::{Cli, Part},
    client::{Account, Client, Error},
    report::{Machine, Report},
    subscribers::Pool,
    target::Target,
};

/// Accounts registered at once: each costs the server an argon2 hash (one per core).
const REGISTERING: usize = 8;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("uplink-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Error> {
    let plan = cli.plan();
    let parts = cli.parts();
    // Every stream and upload is a descriptor here, and in the server this tool starts
    // (which inherits the limit).
    let wanted = (plan.subscribers + plan.small_files + plan.slow_connections + 1024) as u64;
    raise_open_files(wanted)?;

    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut report = Report {
        started_at,
        server: match &cli.url {
            Some(url) => format!("{url} (already running)"),
            None => format!("{} started on a fresh data directory", cli.server_binary().display()),
        },
        machine: Machine::this(),
        sections: Vec::new(),
    };
    if parts.iter().any(|part| *part != Part::Nodes) {
        one_server(&cli, &plan, &parts, &mut report).await?;
    }
    if parts.contains(&Part::Nodes) {
        if cli.url.is_some() {
            return Err("the several-nodes section starts its own nodes: no --url".into());
        }
        report.sections.push(nodes::measure(&plan, &cli.server_binary(), &cli.scratch).await);
    }

    print!("{}", report.table());
    report.save(&cli.json)?;
    println!("\nJSON: {}", cli.json.display());
    Ok(())
}

/// Every section measured on one server: the one at `--url`, or one started here.
async fn one_server(
    cli: &Cli,
    plan: &cli::Plan,
    parts: &[Part],
    report: &mut Report,
) -> Result<(), Error> {
    let (cli, plan) = (cli, plan.clone());
    let mut target = start(cli).await?;
    let mut client = Arc::new(Client::new(target.addr, cli.sources));
    let mut accounts = register(&client, plan.accounts).await?;
    let wants = |part| parts.contains(&part);
    let streams = wants(Part::Fanout) || wants(Part::Idle);
    if streams {
        let probe = target.probe;
        let baseline = probe.and_then(|p| p.rss());
        eprintln!("opening {} streams over {} accounts", plan.subscribers, plan.accounts);
        let pool = Pool::open(&client, &accounts, plan.subscribers).await;
        let idle = match wants(Part::Idle) {
            true => Some(idle::measure(&plan, &pool, probe, baseline).await),
            false => None,
        };
        if wants(Part::Fanout) {
            report
                .sections
                .push(fanout::measure(&plan, &client, &accounts, &pool, probe, baseline).await);
        }
        report.sections.extend(idle);
        pool.close();
    }
    let uploads = wants(Part::Ingest) || wants(Part::E2e) || wants(Part::Tus);
    if streams && uploads && cli.url.is_none() {
        // What ten thousand streams left in the allocator is not what an upload costs:
        // the upload figures get a server of their own.
        eprintln!("a fresh server for the upload figures");
        target.stop().await;
        target = start(cli).await?;
        client = Arc::new(Client::new(target.addr, cli.sources));
        accounts = register(&client, plan.accounts).await?;
    }
    let probe = target.probe;
    if wants(Part::Ingest) {
        report
            .sections
            .push(ingest::measure(&plan, &client, &accounts, probe, target.disk.as_deref()).await);
    }
    if wants(Part::E2e) {
        report.sections.push(e2e::measure(&plan, &client, &accounts[0]).await);
    }
    if wants(Part::Tus) {
        let tus_node = tus::installed(&cli.tus_node);
        let disk = target.disk.as_deref();
        report.sections.push(
            tus::measure(&plan, &client, &accounts[0], probe, disk, tus_node.as_deref()).await,
        );
    }
    if wants(Part::Headers) {
        report.sections.push(headers::measure(&plan, &client, target.addr, probe).await);
    }
    target.stop().await;
    Ok(())
}

/// The server under test: the one at `--url`, or a release build started here.
async fn start(cli: &Cli) -> Result<Target, Error> {
    match &cli.url {
        Some(url) => Target::running(url, cli.pid, cli.disk.clone()),
        None => Target::start(&cli.server_binary(), &cli.scratch).await,
    }
}

/// Registers `count` fresh accounts (names unique to this run).
async fn register(client: &Arc<Client>, count: usize) -> Result<Vec<Account>, Error> {
    let run = chrono::Utc::now().timestamp_millis() % 1_000_000_000;
    eprintln!("registering {count} accounts");
    let started = Instant::now();
    let accounts: Vec<Result<Account, Error>> = stream::iter(0..count.max(1))
        .map(|n| {
            let client = Arc::clone(client);
            async move { client.account(&format!("bench{run}-{n}")).await }
        })
        .buffered(REGISTERING)
        .collect()
        .await;
    let accounts = accounts.into_iter().collect::<Result<Vec<_>, _>>()?;
    eprintln!("registered in {:.1} s", started.elapsed().as_secs_f64());
    Ok(accounts)
}

/// Raises this process's open-file limit to `wanted`, the hard limit too when allowed.
fn raise_open_files(wanted: u64) -> Result<(), Error> {
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft >= wanted {
        return Ok(());
    }
    if hard >= wanted || rlimit::Resource::NOFILE.set(wanted, wanted).is_err() {
        let raised = rlimit::increase_nofile_limit(wanted)?;
        if raised < wanted {
            eprintln!("open-file limit is {raised} (hard limit), below the {wanted} wanted");
        }
    }
    Ok(())
}
