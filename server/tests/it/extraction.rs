//! Text extraction through the confined poppler tools (`processing::poppler`), and OCR
//! of scanned pages through a real server: one `ocr` event per page, and the words
//! right.

use crate::common;

use std::collections::BTreeSet;

use common::{get_json, post_file, SseReader, TestServer};
use testkit::{compare::similarity, pdf as fixtures};
use uplink::{
    processing::{Failure, Sandbox, Step},
    store::BlobReader,
};

fn sandbox() -> Sandbox {
    Sandbox { program: env!("CARGO_BIN_EXE_uplink").into(), memory: 256 << 20, cpu_secs: 30 }
}

fn input(bytes: &[u8]) -> BlobReader {
    Box::pin(std::io::Cursor::new(bytes.to_vec()))
}

/// The pages after `skip`, as a job extracts them.
async fn extract(bytes: &[u8], skip: u32) -> Result<Vec<(u32, u32, String)>, Failure> {
    let sandbox = sandbox();
    let mut extraction = sandbox.extract(input(bytes), input(bytes), skip).await?;
    let pages = extraction.pages();
    let mut seen = Vec::new();
    loop {
        match extraction.next().await? {
            Step::Page(page) => seen.push((page.page, page.pages, page.text)),
            Step::Done(count) => {
                assert_eq!(count, pages);
                return Ok(seen);
            }
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[tokio::test]
async fn every_page_comes_in_order_and_a_resumed_job_starts_after_its_checkpoint() {
    let pages = extract(&fixtures::pdf(5), 0).await.unwrap();
    assert_eq!(pages.len(), 5);
    for (i, (page, count, text)) in pages.iter().enumerate() {
        assert_eq!((*page, *count), (i as u32 + 1, 5));
        assert!(text.contains(&fixtures::page_marker(*page)), "{text:?}");
    }
    let resumed = extract(&fixtures::pdf(5), 3).await.unwrap();
    assert_eq!(resumed.iter().map(|p| p.0).collect::<Vec<_>>(), [4, 5]);
    // Resumed after its last page: nothing left, and no error from asking for none.
    assert!(extract(&fixtures::pdf(5), 5).await.unwrap().is_empty());
}

#[tokio::test]
async fn broken_files_are_corrupt_and_locked_ones_encrypted() {
    for bytes in [&b"%PDF-1.4\nthis is not a pdf"[..], b"%PDF-", &fixtures::pdf(3)[..200]] {
        let got = extract(bytes, 0).await;
        assert!(matches!(got, Err(Failure::Corrupt(_))), "{bytes:?}: {got:?}");
    }
    let got = extract(&fixture("encrypted-aes256.pdf"), 0).await;
    assert!(matches!(got, Err(Failure::Encrypted)), "{got:?}");
    // Readers open these with the empty user password; so must we.
    let pages = extract(&fixture("owner-password-only.pdf"), 0).await.unwrap();
    assert_eq!(pages.len(), 2);
    assert!(pages[1].2.contains("Secret page 2"), "{:?}", pages[1].2);
}

/// Lines of ordinary English for a scan, different on every page.
fn scan_pages(pages: u32) -> Vec<Vec<String>> {
    const WORDS: &str = "every upload is stored before it is processed and the server reports \
        each stage of its work while people watch the progress bars move across their \
        dashboard from the first byte to the last page of text";
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    (1..=pages as usize)
        .map(|page| {
            let mut lines = vec![format!("Scanned page {page}")];
            for line in 0..8 {
                let start = (page * 7 + line * 5) % words.len();
                let line: Vec<&str> = (0..8).map(|i| words[(start + i) % words.len()]).collect();
                lines.push(line.join(" "));
            }
            lines
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_pdf_is_read_by_ocr_page_by_page() {
    const PAGES: u32 = 4;
    let expected = scan_pages(PAGES);
    let scan = fixtures::scanned(&expected);
    let server = TestServer::start().await;
    let user = &server.user;
    let mut all = SseReader::new(user.client.get(server.url("/api/events")).send().await.unwrap());
    let upload = post_file(&user.client, &server.base(), "scan.pdf", &scan).await;
    let id = upload["id"].as_str().unwrap();
    let events = all.until_finished(1).await;
    assert_eq!(events.last().unwrap().name(), "done", "{}", events.last().unwrap().data);

    // One `ocr` event per page, in order, each saying which page of how many, with the
    // percent rising through OCR's own band.
    let ocr: Vec<_> = events
        .iter()
        .filter(|e| e.name() == "progress" && e.json()["stage"] == "ocr")
        .map(|e| {
            (e.json()["page"].as_u64(), e.json()["pages"].as_u64(), e.json()["percent"].as_u64())
        })
        .collect();
    let pages: Vec<_> = ocr.iter().map(|(page, pages, _)| (*page, *pages)).collect();
    let expected_pages: Vec<_> = (1..=PAGES).map(|p| (Some(u64::from(p)), Some(4))).collect();
    assert_eq!(pages, expected_pages);
    let percents: Vec<u64> = ocr.iter().filter_map(|(_, _, percent)| *percent).collect();
    assert!(percents.windows(2).all(|w| w[0] < w[1]), "{percents:?}");
    assert!(percents.iter().all(|p| (75..=95).contains(p)), "{percents:?}");

    // Its text, downloadable like any other, has the words that were drawn.
    let text = user.client.get(server.url(&format!("/api/uploads/{id}/text"))).send().await;
    let text = text.unwrap().text().await.unwrap();
    let read: Vec<&str> = text.split('\x0c').collect();
    assert_eq!(read.len(), PAGES as usize);
    let expected_text = expected.iter().map(|lines| lines.join("\n")).collect::<Vec<_>>();
    let score = similarity(&read.join("\n"), &expected_text.join("\n"));
    eprintln!("OCR: {score:.3} of the words right");
    assert!(score >= 0.95, "{score:.3}:\n{text}");
    let upload = get_json(&user.client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["pages"], PAGES);
}

#[tokio::test]
async fn with_ocr_off_a_scan_is_done_without_text() {
    let scan = fixtures::scanned(&scan_pages(1));
    let server = TestServer::start_with(|c| c.ocr = false).await;
    let user = &server.user;
    let mut all = SseReader::new(user.client.get(server.url("/api/events")).send().await.unwrap());
    let upload = post_file(&user.client, &server.base(), "scan.pdf", &scan).await;
    let events = all.until_finished(1).await;
    assert_eq!(events.last().unwrap().name(), "done");
    let stages: BTreeSet<String> =
        events.iter().filter_map(|e| e.json()["stage"].as_str().map(str::to_owned)).collect();
    assert!(!stages.contains("ocr"), "{stages:?}");
    let id = upload["id"].as_str().unwrap();
    let text = user.client.get(server.url(&format!("/api/uploads/{id}/text"))).send().await;
    assert_eq!(text.unwrap().text().await.unwrap().trim(), "");
}
