//! `make bench`: PDF text extraction as the server runs it (poppler's `pdfinfo` and
//! `pdftotext`, each in a confined child) against `pdftotext` run directly: word-level
//! similarity per page first (`testkit::compare`), then pages per second as a ratio, on
//! the corpus in the repository and on a directory of PDFs given as the first argument
//! (`make bench` fetches Debian's TeX Live manuals into it). Then a 3,000-page document:
//! how soon its first page comes, against how long the whole takes; and OCR: seconds per
//! page and words right on a scan made from known text.
//!
//! Timings are the best of [`RUNS`] runs over each set, one file after another, as one
//! worker takes them.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use testkit::{
    compare::{pdftotext_pages, similarity},
    pdf as fixtures,
};
use uplink::{
    processing::{Failure, Ocr, Sandbox, Step},
    store::BlobReader,
};

const RUNS: usize = 5;

/// How pdftotext marks a right-to-left run.
const RLE: char = '\u{202B}';

/// The least per-page similarity the corpus test asks for.
const LEAST_SIMILAR: f64 = 0.98;

fn sandbox() -> Sandbox {
    Sandbox { program: env!("CARGO_BIN_EXE_uplink").into(), memory: 1 << 30, cpu_secs: 300 }
}

fn input(bytes: &[u8]) -> BlobReader {
    Box::pin(std::io::Cursor::new(bytes.to_vec()))
}

/// Our pages, as a job gets them; the time to the first one.
async fn ours(bytes: &[u8]) -> (Result<Vec<String>, Failure>, Option<Duration>) {
    let started = Instant::now();
    let mut first = None;
    let sandbox = sandbox();
    let extracted = async {
        let mut extraction = sandbox.extract(input(bytes), input(bytes), 0).await?;
        let mut pages = Vec::new();
        loop {
            match extraction.next().await? {
                Step::Page(page) => {
                    first.get_or_insert_with(|| started.elapsed());
                    pages.push(page.text);
                }
                Step::Done(_) => return Ok(pages),
            }
        }
    }
    .await;
    (extracted, first)
}

/// `pdftotext`'s pages, run directly on the file.
fn theirs(file: &Path) -> Option<Vec<String>> {
    let out = Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(file).arg("-").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success().then(|| pdftotext_pages(&text).into_iter().map(str::to_owned).collect())
}

fn best_of(mut run: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .min()
        .unwrap()
}

/// One set of files, measured and reported.
fn measure(runtime: &tokio::runtime::Runtime, title: &str, files: &[PathBuf]) {
    let (mut pages, mut below, mut failed, mut sum, mut worst) = (0, 0, Vec::new(), 0.0, 1.0f64);
    let (mut differing, mut rtl, mut rtl_sum) = (Vec::new(), 0, 0.0);
    let mut readable = Vec::new();
    for file in files {
        let Some(reference) = theirs(file) else { continue };
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        match runtime.block_on(ours(&bytes)).0 {
            Ok(ours) if ours.len() == reference.len() => {
                for (n, (a, b)) in ours.iter().zip(&reference).enumerate() {
                    let score = similarity(a, b);
                    if b.contains(RLE) {
                        (rtl, rtl_sum) = (rtl + 1, rtl_sum + score);
                        continue;
                    }
                    (sum, worst) = (sum + score, worst.min(score));
                    if score < LEAST_SIMILAR {
                        below += 1;
                        differing.push(format!("{name} page {}: {score:.3}", n + 1));
                    }
                }
                pages += reference.len();
                readable.push((file.clone(), bytes));
            }
            Ok(ours) => {
                failed.push(format!("{name}: {} pages, pdftotext {}", ours.len(), reference.len()))
            }
            Err(failure) => failed.push(format!("{name}: {failure:?}")),
        }
    }
    let poppler = best_of(|| {
        for (file, _) in &readable {
            assert!(theirs(file).is_some());
        }
    });
    let engine = best_of(|| {
        for (_, bytes) in &readable {
            runtime.block_on(ours(bytes)).0.unwrap();
        }
    });
    let rate = |d: Duration| pages as f64 / d.as_secs_f64();
    println!("## {title}: {} files, {pages} pages", readable.len());
    println!(
        "words: mean per-page similarity {:.4}, worst page {worst:.3}, {below} pages below {LEAST_SIMILAR}",
        sum / (pages - rtl).max(1) as f64
    );
    println!(
        "and {rtl} pages with right-to-left runs, which Uplink puts in reading order and \
         pdftotext does not: mean {:.3}",
        rtl_sum / rtl.max(1) as f64
    );
    for page in &differing {
        println!("- {page}");
    }
    println!("files pdftotext reads that Uplink failed: {}", failed.len());
    for failure in &failed {
        println!("- {failure}");
    }
    println!(
        "speed: pdftotext {:.0} pages/s, Uplink {:.0} pages/s: ratio {:.2}",
        rate(poppler),
        rate(engine),
        rate(engine) / rate(poppler)
    );
    println!();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    measure(&runtime, "corpus (server/tests/fixtures/corpus)", &fixtures::kept_pdfs("corpus"));
    // `cargo bench` passes `--bench`; the directory is the argument that is not a flag.
    if let Some(dir) = std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "pdf"))
            .collect();
        files.sort();
        measure(&runtime, &format!("Debian's TeX Live manuals ({dir})"), &files);
    }

    let long = fixtures::document(3000, 40);
    let (pages, first) = runtime.block_on(ours(&long));
    let whole = best_of(|| drop(runtime.block_on(ours(&long))));
    let dir = std::env::temp_dir().join(format!("uplink-bench-{}.pdf", std::process::id()));
    std::fs::write(&dir, &long).unwrap();
    let poppler = best_of(|| assert!(theirs(&dir).is_some()));
    std::fs::remove_file(&dir).unwrap();
    println!("## A 3,000-page document");
    println!(
        "{} pages; the first after {} ms, the whole in {} ms (pdftotext alone: {} ms)",
        pages.map(|p| p.len()).unwrap_or(0),
        first.unwrap_or_default().as_millis(),
        whole.as_millis(),
        poppler.as_millis()
    );

    ocr(&runtime);
}

/// Reads every page of a scan made from known words by OCR, as a job does.
fn ocr(runtime: &tokio::runtime::Runtime) {
    const PAGES: usize = 6;
    let words = "extraction reads every page and reports its progress while the reader \
        watches each stage of the work from the first byte to the last word";
    let words: Vec<&str> = words.split_whitespace().collect();
    let pages: Vec<Vec<String>> = (0..PAGES)
        .map(|page| {
            (0..20)
                .map(|line| {
                    (0..8)
                        .map(|i| words[(page * 3 + line * 7 + i) % words.len()])
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        })
        .collect();
    let scan = fixtures::scanned(&pages);
    let ocr = Ocr { langs: "eng".into(), page_timeout: Duration::from_secs(60) };
    let started = Instant::now();
    let mut read = Vec::new();
    for page in 1..=PAGES as u32 {
        let text = runtime.block_on(sandbox().read_page(&ocr, input(&scan), page));
        read.push(text.unwrap().unwrap_or_default());
    }
    let took = started.elapsed().as_secs_f64() / PAGES as f64;
    let expected: Vec<String> = pages.iter().map(|lines| lines.join("\n")).collect();
    let score = similarity(&read.join("\n"), &expected.join("\n"));
    println!();
    println!("## OCR");
    println!(
        "{PAGES} scanned pages of 20 lines: {took:.2} s a page, {:.1} % of the words right",
        score * 100.0
    );
}
