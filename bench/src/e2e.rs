//! End to end: a PDF from its first byte sent to its `done` event, through
//! `POST /api/uploads` with `Accept: text/event-stream`, and how fast the server read
//! its pages (by the events' own `at`).

use std::{collections::BTreeMap, time::Instant};

use crate::{
    cli::Plan,
    client::{Account, Client, Upload},
    follow::follow,
    report::Section,
    sse::Stamp,
};

pub async fn measure(plan: &Plan, client: &Client, account: &Account) -> Section {
    let document = testkit::pdf::document(plan.pages, 40);
    eprintln!("end to end: a {}-page PDF ({} KiB)", plan.pages, document.len() / 1024);
    let mut section =
        Section::new("End to end", plan.command("e2e", &[("pages", plan.pages.to_string())]));
    let started = Instant::now();
    // Server times of the first event of each stage, and of the first and last page read.
    let mut stages: BTreeMap<String, f64> = BTreeMap::new();
    let (mut first_page, mut last_page, mut finished) = (None, None, None);
    let result = async {
        let response = client
            .upload(account, "bench.pdf", "application/pdf", Upload::bytes(document.into()), true)
            .await?;
        follow(response, |name, data| {
            let Some(stamp) = Stamp::parse(data) else { return false };
            let Some(at) = stamp.at_ms() else { return false };
            if let Some(stage) = &stamp.stage {
                stages.entry(stage.clone()).or_insert(at);
            }
            if stamp.page.is_some() {
                first_page.get_or_insert(at);
                last_page = Some(at);
            }
            if name != "progress" {
                finished = Some((name.to_owned(), at));
            }
            finished.is_some()
        })
        .await
    }
    .await;
    let total = started.elapsed().as_secs_f64();
    match (&result, &finished) {
        (Ok(()), Some((name, _))) if name == "done" => {}
        _ => {
            let why = result.err().map_or_else(|| format!("{finished:?}"), |e| e.to_string());
            section.row("failed", why);
            return section;
        }
    }
    let extracting = match (first_page, last_page) {
        (Some(first), Some(last)) if last > first => Some((last - first) / 1000.0),
        _ => None,
    };
    // The first page event marks one page read; the rate counts the pages after it.
    let pages_per_sec = extracting.map(|secs| f64::from(plan.pages.saturating_sub(1)) / secs);
    section.row(&format!("{}-page PDF, first byte to done", plan.pages), format!("{:.2} s", total));
    section.row(
        "extraction",
        match pages_per_sec {
            Some(rate) => format!(
                "{rate:.0} pages/s (pages 1 to {} in {:.2} s)",
                plan.pages,
                extracting.unwrap_or(0.0)
            ),
            None => "too fast to time by `at` (ms)".into(),
        },
    );
    let done_at = finished.map(|(_, at)| at);
    let mut marks: Vec<(String, f64)> = stages.into_iter().collect();
    marks.sort_by(|a, b| a.1.total_cmp(&b.1));
    if let (Some(first), Some(done)) = (marks.first().map(|m| m.1), done_at) {
        let steps: Vec<String> = marks
            .iter()
            .map(|(stage, at)| format!("{stage} +{:.0} ms", at - first))
            .chain([format!("done +{:.0} ms", done - first)])
            .collect();
        section.row("stages (server time)", steps.join(", "));
    }
    section
        .figure("pages", plan.pages)
        .figure("first_byte_to_done_secs", total)
        .figure("extraction_secs", extracting)
        .figure("pages_per_sec", pages_per_sec);
    section
}
