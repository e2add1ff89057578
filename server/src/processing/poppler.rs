//! A PDF's text through poppler's own utilities, page by page, each run confined
//! (`sandbox.rs`).
//!
//! poppler is the reference people compare with (what `pdftotext` gives is what they
//! expect), and the engine chosen by measurement: see the README's extraction section.
//! It runs as its own programs, so its licence (GPL) stays theirs. One `pdftotext`
//! writes the pages in order, each ended by a form feed, and each is reported as soon as
//! its form feed arrives; `pdfinfo`, run beside it rather than before it (measured: the
//! README's extraction section), gives the page count every page's event carries.

use std::collections::BTreeSet;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use super::{
    bidi,
    sandbox::{Failure, Running, Sandbox, Tool},
};
use crate::store::BlobReader;

/// The longest text one page may have.
const MAX_PAGE: u64 = 64 << 20;

/// The most a listing (`pdfinfo`, `pdfimages -list`) may print.
const MAX_LISTING: u64 = 16 << 20;

/// The text of one page, 1-based.
#[derive(Debug)]
pub struct PageText {
    pub page: u32,
    pub pages: u32,
    pub text: String,
}

/// The next thing an extraction has to say.
#[derive(Debug)]
pub enum Step {
    Page(PageText),
    /// The end; the document's page count.
    Done(u32),
}

impl Sandbox {
    /// The document's page count, from `pdfinfo`.
    async fn page_count(&self, input: BlobReader) -> Result<u32, Failure> {
        let listing = self.listing(Tool::PdfInfo, &["-"], input).await?;
        // The last such line: the document's own strings (its title, say) come before it.
        let pages = listing
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("Pages:"))
            .and_then(|count| count.trim().parse::<u32>().ok());
        match pages {
            Some(0) | None => Err(Failure::Corrupt("the document has no pages".into())),
            Some(pages) => Ok(pages),
        }
    }

    /// Starts extracting the text of the pages after `skip` (the checkpoint of a resumed
    /// job), `pdftotext` reading `text` while `pdfinfo` counts the pages on `count`.
    pub async fn extract(
        &self,
        count: BlobReader,
        text: BlobReader,
        skip: u32,
    ) -> Result<TextPages, Failure> {
        let first = (skip + 1).to_string();
        let args = ["-enc", "UTF-8", "-f", &first, "-", "-"];
        let running = self.run(Tool::PdfToText, &args, text).map_err(Failure::Io)?;
        let pages = self.page_count(count).await?;
        // A job resumed after its last page has nothing left to read (and pdftotext,
        // asked to start past the end, would say so as an error).
        let running = (skip < pages).then_some(running);
        Ok(TextPages { running, next: skip + 1, pages })
    }

    /// The pages that draw at least one image, from `pdfimages -list`.
    pub async fn pages_with_images(&self, input: BlobReader) -> Result<BTreeSet<u32>, Failure> {
        let listing = self.listing(Tool::PdfImages, &["-list", "-"], input).await?;
        // Two lines of heading, then one row per image, its page first.
        Ok(listing
            .lines()
            .skip(2)
            .filter_map(|row| row.split_whitespace().next()?.parse().ok())
            .collect())
    }

    /// A tool's whole output, once it has succeeded.
    async fn listing(
        &self,
        tool: Tool,
        args: &[&str],
        input: BlobReader,
    ) -> Result<String, Failure> {
        let mut running = self.run(tool, args, input).map_err(Failure::Io)?;
        let mut out = Vec::new();
        let stdout = running.stdout().map_err(Failure::Io)?;
        let read = stdout.take(MAX_LISTING + 1).read_to_end(&mut out).await;
        read.map_err(Failure::Io)?;
        // Past the cap the tool would wait on a full pipe for good; dropping it kills it.
        if out.len() as u64 > MAX_LISTING {
            return Err(Failure::TooComplex("it lists more than 16 MiB of its contents"));
        }
        running.finish().await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// A running `pdftotext`. Dropping it kills the tool.
pub struct TextPages {
    /// `None` when there is nothing to read.
    running: Option<Running>,
    next: u32,
    pages: u32,
}

impl TextPages {
    /// The document's page count.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The next page, or the end.
    pub async fn next(&mut self) -> Result<Step, Failure> {
        let Some(running) = self.running.as_mut() else { return Ok(Step::Done(self.pages)) };
        let mut page = Vec::new();
        let stdout = running.stdout().map_err(Failure::Io)?;
        let read = stdout.take(MAX_PAGE).read_until(b'\x0c', &mut page).await;
        read.map_err(Failure::Io)?;
        if page.last() == Some(&b'\x0c') {
            page.pop();
            if self.next > self.pages {
                return Err(Failure::Corrupt("more pages than the document has".into()));
            }
            let text = bidi::logical_order(&String::from_utf8_lossy(&page));
            let step = Step::Page(PageText { page: self.next, pages: self.pages, text });
            self.next += 1;
            return Ok(step);
        }
        if page.len() as u64 == MAX_PAGE {
            return Err(Failure::TooComplex("a page's text is larger than 64 MiB"));
        }
        // The end of its output: it has finished, or failed part-way.
        running.finish().await?;
        if self.next <= self.pages {
            let missing = format!("the text ended at page {} of {}", self.next - 1, self.pages);
            return Err(Failure::Corrupt(missing));
        }
        Ok(Step::Done(self.pages))
    }
}
