//! Accounts take turns in the job queue: one account's 200 queued files do not make
//! another account's single file wait behind them, and every waiting job is told how
//! many jobs are ahead of it.

use crate::common;

use futures_util::{stream, StreamExt};
use testkit::pdf as fixtures;

use common::{named, post_file, Account, Sse, SseReader, TestServer};

const MANY: usize = 200;

fn upload_id(event: &Sse) -> String {
    event.json()["upload_id"].as_str().unwrap().to_owned()
}

fn job_started(event: &Sse) -> bool {
    event.name() == "progress" && event.json()["stage"] == "validating"
}

async fn events(account: &Account, server: &TestServer) -> SseReader {
    let response = account.client.get(server.url("/api/events")).send().await.unwrap();
    let mut reader = SseReader::new(response);
    assert!(reader.next().await.unwrap().retry.is_some());
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_accounts_many_files_do_not_hold_up_anothers_one() {
    // One worker, and PDFs of a few dozen pages: A's files are queued far faster than
    // they are processed, so most of them are still waiting when B's arrives.
    let server = TestServer::start_with(|c| c.workers = Some(1)).await;
    let a = &server.user;
    let b = Account::register(&server.base(), "bob").await;
    let mut a_events = events(a, &server).await;
    let mut b_events = events(&b, &server).await;

    let (pdf, base) = (fixtures::pdf(40), server.base());
    stream::iter(0..MANY)
        .for_each_concurrent(8, |n| {
            let (pdf, base) = (&pdf, &base);
            async move {
                post_file(&a.client, base, &format!("a{n}.pdf"), pdf).await;
            }
        })
        .await;
    post_file(&b.client, &base, "b.pdf", &pdf).await;

    let b_seen = b_events.until(|e| e.name() == "done").await;
    let b_seen = named(&b_seen);
    let mut a_done = 0;
    let a_seen = a_events
        .until(|e| {
            a_done += usize::from(e.name() == "done");
            a_done == MANY
        })
        .await;
    let a_seen = named(&a_seen);
    assert!(a_seen.iter().chain(&b_seen).all(|e| e.name() != "error"), "nothing failed");

    // B's file was queued, then waited for at most two of A's jobs: the one the worker
    // may have been taking at that moment, and the one whose turn it then was.
    let b_queued = b_seen.iter().find(|e| e.json()["status"] == "queued").unwrap().id.unwrap();
    let b_started = b_seen.iter().find(|e| job_started(e)).unwrap().id.unwrap();
    let a_started_meanwhile = a_seen
        .iter()
        .filter(|e| job_started(e) && (b_queued..b_started).contains(&e.id.unwrap()))
        .map(|e| upload_id(e))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert!(a_started_meanwhile <= 2, "{a_started_meanwhile} of A's jobs started before B's");
    let b_ahead: Vec<u64> = b_seen.iter().filter_map(|e| e.json()["ahead"].as_u64()).collect();
    // (It may start before the announcement reaches it.)
    assert!(b_ahead.iter().all(|n| *n <= 1), "B is told it is (nearly) next: {b_ahead:?}");

    // B's finishes long before A's last one.
    let b_done = b_seen.last().unwrap().id.unwrap();
    let a_after_b = a_seen.iter().filter(|e| e.name() == "done" && e.id.unwrap() > b_done).count();
    assert!(a_after_b >= MANY / 2, "only {a_after_b} of A's {MANY} files finished after B's");

    // A's waiting jobs were told their place, and it only counted down, but for the one
    // step back when B's file took its turn ahead of them.
    let mut places: std::collections::HashMap<String, Vec<u64>> = Default::default();
    for event in &a_seen {
        if let Some(ahead) = event.json()["ahead"].as_u64() {
            places.entry(upload_id(event)).or_default().push(ahead);
        }
    }
    let most = places.values().filter_map(|p| p.first()).max().copied().unwrap_or(0);
    assert!(most >= 50, "A's later files were told many jobs were ahead: {most}");
    for (id, said) in &places {
        let b_joined = said.windows(2).filter(|w| w[1] > w[0]).count();
        assert!(b_joined <= 1, "{id} was told {said:?}: it only grows when B joins the line");
    }
}
