//! `make bench`: PDF text extraction on the corpus (`tests/fixtures/corpus`), against
//! poppler's `pdftotext` on the same files: correctness (exact page counts, per-page text
//! similarity to pdftotext's) first, then pages per second, as a ratio.
//!
//! Timings are the best of several runs of the whole corpus, each engine in a process of
//! its own per file, as the server runs it (our engine: `uplink __extract-pdf`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use testkit::{
    compare::{pdftotext_pages, similarity},
    pdf as fixtures,
};
use uplink::processing::pdf;

const RUNS: usize = 5;

/// A candidate: its name, and its text per page.
type Engine = (&'static str, fn(&[u8]) -> Vec<String>);

struct Measured {
    engine: &'static str,
    name: String,
    pages: usize,
    reference_pages: usize,
    worst: f64,
    mean: f64,
}

/// pdftotext's pages, kept beside the PDF.
fn reference_pages(pdf: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(pdf.with_extension("txt")).unwrap();
    pdftotext_pages(&text).into_iter().map(str::to_owned).collect()
}

fn ours(bytes: &[u8]) -> Vec<String> {
    let mut pages = Vec::new();
    pdf::extract_pages(bytes, 0, |page| {
        pages.push(page.text);
        true
    })
    .unwrap_or_else(|e| panic!("{e:?}"));
    pages
}

/// The `pdf-extract` crate, the other pure-Rust candidate, measured the same way.
#[cfg(feature = "compare-engines")]
fn pdf_extract(bytes: &[u8]) -> Vec<String> {
    match pdf_extract::extract_text_from_mem_by_pages(bytes) {
        Ok(pages) => pages,
        Err(e) => {
            eprintln!("pdf-extract: {e}");
            Vec::new()
        }
    }
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

fn main() {
    let uplink = env!("CARGO_BIN_EXE_uplink");
    let files = fixtures::kept_pdfs("corpus");
    let mut measured = Vec::new();
    #[allow(unused_mut)]
    let mut engines: Vec<Engine> = vec![("lopdf (uplink)", ours)];
    #[cfg(feature = "compare-engines")]
    engines.push(("pdf-extract", pdf_extract));
    let mut in_process = Vec::new();
    for (engine, extract) in engines {
        let mut took = Duration::ZERO;
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            let reference = reference_pages(file);
            let pages = extract(&bytes);
            took += best_of(|| drop(extract(&bytes)));
            let scores: Vec<f64> =
                pages.iter().zip(&reference).map(|(a, b)| similarity(a, b)).collect();
            measured.push(Measured {
                engine,
                name: file.file_stem().unwrap().to_string_lossy().into_owned(),
                pages: pages.len(),
                reference_pages: reference.len(),
                worst: scores
                    .iter()
                    .copied()
                    .fold(if scores.is_empty() { 0.0 } else { 1.0 }, f64::min),
                mean: scores.iter().sum::<f64>() / scores.len().max(1) as f64,
            });
        }
        in_process.push((engine, took));
    }

    let total_pages: usize = reference_total(&files);
    let run_all = |program: &str, args: &dyn Fn(&Path) -> Vec<String>| {
        best_of(|| {
            for file in &files {
                let status = Command::new(program)
                    .args(args(file))
                    .stdin(std::fs::File::open(file).unwrap())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success(), "{program} on {}", file.display());
            }
        })
    };
    let poppler = run_all("pdftotext", &|f| vec![f.display().to_string(), "-".into()]);
    // As the server starts it: pages to skip, memory cap, CPU seconds, the parent's pid.
    let parent = std::process::id().to_string();
    let engine = run_all(uplink, &|_| {
        vec![
            "__extract-pdf".into(),
            "0".into(),
            (1u64 << 30).to_string(),
            "300".into(),
            parent.clone(),
        ]
    });

    println!("| engine | file | pages (engine / pdftotext) | text similarity, mean | worst page |");
    println!("|---|---|---|---|---|");
    for m in &measured {
        println!(
            "| {} | {} | {} / {} | {:.3} | {:.3} |",
            m.engine, m.name, m.pages, m.reference_pages, m.mean, m.worst
        );
    }
    let rate = |d: Duration| total_pages as f64 / d.as_secs_f64();
    println!();
    for (engine, took) in in_process {
        println!("{engine}, in process: {:.0} pages/s", rate(took));
    }
    println!(
        "{total_pages} pages: pdftotext {:.0} pages/s, uplink {:.0} pages/s: ratio {:.2}",
        rate(poppler),
        rate(engine),
        rate(engine) / rate(poppler)
    );
}

fn reference_total(files: &[PathBuf]) -> usize {
    files.iter().map(|f| reference_pages(f).len()).sum()
}
