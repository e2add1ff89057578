//! Fuzzing the PDF stage (a proptest suite: `cargo fuzz` needs a nightly toolchain CI does
//! not have). Random mutations of the kept PDFs, real-world (`fixtures/corpus`) and
//! malformed (`fixtures/hostile`), go through the sandboxed extractor exactly as the
//! server runs it. Each must end with its pages or a failure, in time: never a hang, and
//! never harm to the process that asked. CI runs 256 cases; `PROPTEST_CASES=5000 cargo
//! test --test fuzz_pdf` runs a longer pass.

use std::time::Duration;

use proptest::prelude::*;
use testkit::pdf as fixtures;
use uplink::{
    processing::{Failure, Sandbox, Step},
    store::BlobReader,
};

/// Seeds that end quickly: the bombs and the slow file are for `hostile_pdfs.rs`, and the
/// corpus's long manuals would only repeat the same producers' pages.
fn seeds() -> Vec<Vec<u8>> {
    ["corpus", "hostile"]
        .into_iter()
        .flat_map(fixtures::kept_pdfs)
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            let small = p.metadata().is_ok_and(|m| m.len() < 100_000);
            small && !name.contains("bomb") && !name.starts_with("slow")
        })
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    /// Overwrite the byte at this fraction of the file.
    Set(f64, u8),
    /// Remove a stretch.
    Cut(f64, usize),
    /// Repeat a stretch in place.
    Repeat(f64, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0, any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        (0.0..1.0, 1usize..4096).prop_map(|(at, n)| Edit::Cut(at, n)),
        (0.0..1.0, 1usize..512).prop_map(|(at, n)| Edit::Repeat(at, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        if bytes.is_empty() {
            break;
        }
        let at = |f: f64| ((bytes.len() - 1) as f64 * f) as usize;
        match *edit {
            Edit::Set(f, b) => {
                let i = at(f);
                bytes[i] = b;
            }
            Edit::Cut(f, n) => {
                let i = at(f);
                bytes.drain(i..(i + n).min(bytes.len()));
            }
            Edit::Repeat(f, n) => {
                let i = at(f);
                let stretch = bytes[i..(i + n).min(bytes.len())].to_vec();
                bytes.splice(i..i, stretch);
            }
        }
    }
    bytes
}

/// Runs one extraction to its end, as a job does: the page count, then every page;
/// `Err` only if it did not end in time.
async fn extract(sandbox: &Sandbox, bytes: Vec<u8>) -> Result<Result<u32, Failure>, String> {
    let input = |bytes: &Vec<u8>| -> BlobReader { Box::pin(std::io::Cursor::new(bytes.clone())) };
    let run = async {
        let mut extraction = sandbox.extract(input(&bytes), input(&bytes), 0).await?;
        loop {
            if let Step::Done(pages) = extraction.next().await? {
                return Ok(pages);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run).await.map_err(|_| "no end in 30 s".into())
}

/// 256 in CI, or `PROPTEST_CASES`.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn every_mutated_pdf_ends_with_pages_or_a_failure(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        let seeds = seeds();
        let bytes = mutate(seeds[seed.index(seeds.len())].clone(), &edits);
        let sandbox =
            Sandbox { program: env!("CARGO_BIN_EXE_uplink").into(), memory: 256 << 20, cpu_secs: 30 };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ended = runtime.block_on(extract(&sandbox, bytes));
        match ended {
            Ok(Ok(_)) | Ok(Err(Failure::Corrupt(_) | Failure::Encrypted | Failure::TooComplex(_))) => {}
            Ok(Err(Failure::Io(e))) => prop_assert!(false, "the server's side failed: {e}"),
            Err(why) => prop_assert!(false, "{why}"),
        }
    }
}
