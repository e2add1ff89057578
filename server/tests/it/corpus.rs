//! Real-world PDFs (`fixtures/corpus`, made by its `make.py`: pdfTeX, LuaTeX, xdvipdfmx,
//! LibreOffice, Chromium's Skia, Ghostscript (PDF/A too), groff's gropdf, Cairo and
//! Tesseract, some rewritten by qpdf or with a damaged cross-reference table) through the
//! real server: the page count is exact and every page's words match poppler's
//! `pdftotext` (kept beside each PDF); encrypted and broken files fail with their codes.

use crate::common;

use std::{collections::HashMap, path::PathBuf};

use testkit::{
    compare::{normalise, pdftotext_pages, similarity},
    pdf as fixtures,
};

use common::{get_json, post_file, SseReader, TestServer};

/// The least per-page similarity to pdftotext's text: 1.0 is the same words in the same
/// order (`testkit::compare`).
const LEAST_SIMILAR: f64 = 0.98;

/// What the corpus must span, so that it keeps meaning something.
const LEAST_PAGES: usize = 500;
const LEAST_PRODUCERS: usize = 8;

/// Files named for what rewrote them, not what made them.
const REWRITTEN: &[&str] = &["qpdf", "damaged"];

/// Where pdftotext's own output is not the truth: it lays the runs of a right-to-left
/// line out left to right (ours puts them in reading order). There, the lines the file
/// was made from must each appear, in reading order, in our text.
const SCRIPTS: &[&str] = &[
    "مرحبا بالعالم. هذا ملف تجريبي لاستخراج النص من ملفات",
    "يرفع المستخدمون الملفات ويشاهدون تقدم المعالجة مباشرة.",
    "Ελληνικά: Γειά σου Κόσμε, η γρήγορη καφέ αλεπού.",
    "Русский: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "עברית: שלום עולם",
    "Tiếng Việt: Xin chào thế giới.",
    "Mathematics: ∀x ∈ ℝ, x² ≥ 0; ∑ ∫ √ ≠ ≤ ≥ ∞.",
];

/// What poppler, and so Uplink, gets wrong on that page: the lam-alef ligature glyph (ﻻ)
/// inside a right-to-left word comes out as its two letters reversed. The reference has
/// the same mistake, which shows it is poppler's; if poppler is fixed, this test says so.
const POPPLER_LAM_ALEF: (&str, &str) = ("لاستخراج", "الستخراج");

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn corpus() -> Vec<String> {
    let names: Vec<String> = fixtures::kept_pdfs("corpus")
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let producers: std::collections::BTreeSet<&str> = names
        .iter()
        .filter_map(|name| name.split('-').next())
        .filter(|producer| !REWRITTEN.contains(producer))
        .collect();
    assert!(producers.len() >= LEAST_PRODUCERS, "the corpus's producers: {producers:?}");
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_world_pdfs_match_the_reference_page_by_page() {
    let server = TestServer::start().await;
    let user = &server.user;
    let mut all = SseReader::new(user.client.get(server.url("/api/events")).send().await.unwrap());

    let mut files: Vec<(String, PathBuf)> = corpus()
        .into_iter()
        .map(|name| (name.clone(), fixture(&format!("corpus/{name}"))))
        .collect();
    files.push(("encrypted-aes256.pdf".into(), fixture("encrypted-aes256.pdf")));
    files.push(("truncated.pdf".into(), fixture("hostile/truncated.pdf")));
    let mut ids = HashMap::new();
    for (name, path) in &files {
        let upload =
            post_file(&user.client, &server.base(), name, &std::fs::read(path).unwrap()).await;
        ids.insert(name.clone(), upload["id"].as_str().unwrap().to_owned());
    }
    let events = all.until_finished(files.len()).await;
    let last_of = |id: &str| events.iter().rev().find(|e| e.json()["upload_id"] == id).unwrap();

    for (name, code) in [("encrypted-aes256.pdf", "encrypted"), ("truncated.pdf", "corrupt")] {
        let last = last_of(&ids[name]);
        assert_eq!((last.name(), last.json()["code"].as_str()), ("error", Some(code)), "{name}");
    }

    let (mut report, mut below, mut compared) = (Vec::new(), Vec::new(), 0);
    for name in corpus() {
        let id = &ids[&name];
        if last_of(id).name() != "done" {
            report.push(format!("{name}: {}", last_of(id).data));
            below.push(format!("{name} failed: {}", last_of(id).data));
            continue;
        }
        let reference =
            std::fs::read_to_string(fixture(&format!("corpus/{name}")).with_extension("txt"))
                .unwrap();
        let reference = pdftotext_pages(&reference);
        let upload = get_json(&user.client, server.url(&format!("/api/uploads/{id}"))).await;
        assert_eq!(upload["pages"], reference.len(), "{name}: the page count");
        let text =
            user.client.get(server.url(&format!("/api/uploads/{id}/text"))).send().await.unwrap();
        assert_eq!(text.status(), 200, "{name}");
        let text = text.text().await.unwrap();
        let pages: Vec<&str> = text.split('\x0c').collect();
        assert_eq!(pages.len(), reference.len(), "{name}: pages in the text download");

        if name == "skia-scripts.pdf" {
            let (right, wrong) = POPPLER_LAM_ALEF;
            assert!(reference[0].contains(wrong), "poppler's mistake: {}", reference[0]);
            let ours = normalise(pages[0]);
            for line in SCRIPTS {
                let line = normalise(&line.replace(right, wrong));
                let found = ours.windows(line.len()).any(|w| w == line.as_slice());
                assert!(found, "{name}: {:?} in {:?}", String::from_iter(&line), pages[0]);
            }
            continue;
        }
        let scores: Vec<f64> =
            pages.iter().zip(&reference).map(|(ours, theirs)| similarity(ours, theirs)).collect();
        compared += scores.len();
        let worst = scores.iter().copied().fold(1.0, f64::min);
        let failing: Vec<usize> =
            (0..scores.len()).filter(|&n| scores[n] < LEAST_SIMILAR).collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        report.push(format!(
            "{name}: {} pages, mean {mean:.3}, worst {worst:.3}, {} below {LEAST_SIMILAR}",
            scores.len(),
            failing.len()
        ));
        if let Some(&n) = failing.first() {
            below.push(format!(
                "{name} page {}: {:.3}\n{}\n---\n{}",
                n + 1,
                scores[n],
                pages[n],
                reference[n]
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(compared >= LEAST_PAGES, "{compared} pages compared");
    assert!(
        below.is_empty(),
        "pages below {LEAST_SIMILAR}; the first of each file:\n{}",
        below.join("\n\n")
    );
}
