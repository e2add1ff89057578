//! Reading a page that has no text layer: poppler's `pdftoppm` draws it in grey, piped
//! into Tesseract, both confined (`sandbox.rs`).

use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::sandbox::{Failure, Sandbox, Tool};
use crate::store::BlobReader;

/// The longer side of the drawn page, in pixels: an A4 page at 300 dpi, what Tesseract
/// reads best, and a bound on memory whatever size the page claims to be.
const LONGER_SIDE: u32 = 3508;

/// The most text one page may give.
const MAX_TEXT: u64 = 4 << 20;

/// How many of a page's characters, whitespace aside, make it a page with text: fewer,
/// and a page with an image is read by OCR (a scanner's stamp, a page number).
pub const LEAST_TEXT: usize = 16;

/// Whether a page's extracted text is too little to be its text.
pub fn is_scant(text: &str) -> bool {
    letters(text) < LEAST_TEXT
}

/// How much text there is: its characters, whitespace aside.
pub fn letters(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// What OCR reads with.
#[derive(Debug, Clone)]
pub struct Ocr {
    /// Tesseract's languages, `+`-joined (`eng`, `eng+deu`).
    pub langs: String,
    /// The longest one page may take; a page that takes longer is left without text.
    pub page_timeout: Duration,
}

impl Ocr {
    /// Fails, saying what to install, unless Tesseract and every language are there.
    pub fn check(&self) -> std::io::Result<()> {
        let langs: Vec<&str> = self.langs.split('+').collect();
        let named = |lang: &&str| {
            !lang.is_empty() && lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        if !langs.iter().all(named) {
            let error =
                format!("UPLINK_OCR_LANGS is `+`-joined language names, not {:?}", self.langs);
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, error));
        }
        // With the environment the confined runs have, so both see the same languages.
        let listed = std::process::Command::new(Tool::Tesseract.path())
            .arg("--list-langs")
            .env_clear()
            .output();
        let listed = listed.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "OCR needs Tesseract (apt-get install tesseract-ocr), or UPLINK_OCR=off: {e}"
                ),
            )
        })?;
        let known = String::from_utf8_lossy(&listed.stdout);
        let known: Vec<&str> = known.lines().skip(1).map(str::trim).collect();
        match langs.iter().find(|lang| !known.contains(lang)) {
            None => Ok(()),
            Some(lang) => Err(std::io::Error::other(format!(
                "OCR language {lang} is not installed (apt-get install tesseract-ocr-{lang})"
            ))),
        }
    }
}

impl Sandbox {
    /// The text of page `page` of the PDF on `input`, read by OCR. `Ok(None)`: it took
    /// longer than the page's time cap.
    pub async fn read_page(
        &self,
        ocr: &Ocr,
        input: BlobReader,
        page: u32,
    ) -> Result<Option<String>, Failure> {
        let page = page.to_string();
        let side = LONGER_SIDE.to_string();
        let draw = ["-f", &page, "-l", &page, "-gray", "-scale-to", &side, "-"];
        let mut drawing = self.run(Tool::PdfToPpm, &draw, input).map_err(Failure::Io)?;
        // `stdin stdout`: the image from the pipe, the text to the pipe. No page separator:
        // pages are ours to separate.
        let read = ["stdin", "stdout", "-l", &ocr.langs, "--dpi", "300", "-c", "page_separator="];
        let mut reading =
            self.run_after(Tool::Tesseract, &read, &mut drawing).map_err(Failure::Io)?;
        let work = async {
            let mut text = Vec::new();
            let stdout = reading.stdout().map_err(Failure::Io)?;
            stdout.take(MAX_TEXT + 1).read_to_end(&mut text).await.map_err(Failure::Io)?;
            // Past the cap Tesseract would wait on a full pipe; dropping it kills it.
            if text.len() as u64 > MAX_TEXT {
                return Err(Failure::TooComplex("OCR read more than 4 MiB of text on one page"));
            }
            drawing.finish().await?;
            reading.finish().await?;
            Ok(String::from_utf8_lossy(&text).trim_end().to_owned())
        };
        match tokio::time::timeout(ocr.page_timeout, work).await {
            Ok(read) => read.map(Some),
            // Dropping both kills them.
            Err(_) => Ok(None),
        }
    }
}
