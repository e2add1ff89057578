//! Hostile PDFs (`fixtures/hostile`, made by its `make.py`) against a real server with
//! tight limits: each ends `failed` with its code, within the job's time limit and the
//! extraction's memory cap, while ordinary PDFs processed beside them finish normally.

use crate::common;

use std::collections::HashMap;

use chrono::DateTime;
use testkit::pdf as fixtures;

use common::{get_json, post_file, Sse, SseReader, TestServer};

/// Each file, and how it must end: the code it fails with, or `done` for a file poppler
/// reads in spite of what it does.
const HOSTILE: &[(&str, &str)] = &[
    // One string literal that inflates to 256 MiB: the extraction's memory cap stops it.
    ("string-bomb.pdf", "too_complex"),
    // A content stream that inflates to 1 GiB of spaces: poppler inflates as it reads,
    // in little memory, so the job's time limit stops it (here; a machine fast enough to
    // read 1 GiB in 3 s finishes it: `done`, within the limit, is as good).
    ("bomb-1gib.pdf", "timeout|done"),
    // Nesting 200,000 deep: poppler's parser stops at its own depth limit. In the
    // catalog that leaves no document; in a page's content, a page without text.
    ("nested-dicts.pdf", "corrupt"),
    ("nested-arrays-content.pdf", "done"),
    // 10^12 pages claimed through a shared page tree: poppler refuses the count.
    ("page-tree-bomb.pdf", "corrupt"),
    // 1,000 pages of 400,000 operators each: the job's time limit stops it.
    ("slow-pages.pdf", "timeout"),
    ("page-tree-cycle.pdf", "corrupt"),
    ("object-stream-count.pdf", "corrupt"),
    ("truncated.pdf", "corrupt"),
    ("random-bytes.pdf", "corrupt"),
];

const JOB_TIMEOUT_SECS: u64 = 3;

fn hostile(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/hostile/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn at(event: &Sse) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(event.json()["at"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_pdf_fails_with_its_code_and_the_others_finish() {
    let server = TestServer::start_with(|c| {
        c.workers = Some(2);
        c.job_timeout = std::time::Duration::from_secs(JOB_TIMEOUT_SECS);
        // Low, so the string bomb meets it well within the time limit.
        c.extract_memory_mib = 128;
    })
    .await;
    let user = &server.user;
    let mut all = SseReader::new(user.client.get(server.url("/api/events")).send().await.unwrap());

    // Ordinary files between the hostile ones, so they share the workers with them.
    let ordinary = fixtures::pdf(30);
    let mut names = HashMap::new();
    for (i, (name, _)) in HOSTILE.iter().enumerate() {
        let upload = post_file(&user.client, &server.base(), name, &hostile(name)).await;
        names.insert(upload["id"].as_str().unwrap().to_owned(), name.to_string());
        if i % 3 == 0 {
            let name = format!("ordinary-{i}.pdf");
            let upload = post_file(&user.client, &server.base(), &name, &ordinary).await;
            names.insert(upload["id"].as_str().unwrap().to_owned(), name);
        }
    }
    let events = all.until_finished(names.len()).await;

    for (id, name) in &names {
        let own: Vec<&Sse> = events.iter().filter(|e| e.json()["upload_id"] == *id).collect();
        let last = own.last().unwrap_or_else(|| panic!("{name}: no events"));
        let upload = get_json(&user.client, server.url(&format!("/api/uploads/{id}"))).await;
        match HOSTILE.iter().find(|(hostile, _)| hostile == name) {
            Some((_, "done")) => assert_eq!(last.name(), "done", "{name}: {}", last.data),
            Some((_, "timeout|done")) => {
                let ended = last.json()["code"].as_str().unwrap_or(last.name()).to_owned();
                assert!(["timeout", "done"].contains(&ended.as_str()), "{name}: {}", last.data);
            }
            Some((_, code)) => {
                assert_eq!(last.name(), "error", "{name} failed: {upload}");
                assert_eq!(last.json()["code"], *code, "{name}: {}", last.data);
                assert!(!last.json()["message"].as_str().unwrap().is_empty(), "{name}");
                assert_eq!(upload["status"], "failed", "{name}");
                // Within the time limit: from its first processing event to its failure.
                let started = own.iter().find(|e| e.json()["status"] == "processing").unwrap();
                let took = at(last) - at(started);
                assert!(
                    took.num_milliseconds() < (JOB_TIMEOUT_SECS as i64 + 2) * 1000,
                    "{name} took {took}"
                );
            }
            None => {
                assert_eq!(last.name(), "done", "{name}: {}", last.data);
                assert_eq!(upload["pages"], 30, "{name}");
            }
        }
    }

    // The server is unharmed: it still answers and still processes.
    let health = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let after = post_file(&user.client, &server.base(), "after.pdf", &fixtures::pdf(3)).await;
    let after = after["id"].as_str().unwrap().to_owned();
    let tail =
        all.until(|e| matches!(e.name(), "done" | "error") && e.json()["upload_id"] == after).await;
    assert_eq!(tail.last().unwrap().name(), "done");
}
