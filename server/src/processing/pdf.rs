//! Text extraction from PDFs, one page at a time.
//!
//! Runs only inside the extraction child process (`sandbox`): a hostile file may take
//! long, exhaust memory, overflow the stack or panic, and the child's death costs the
//! server nothing.

use lopdf::Document;

use super::bidi;

/// The text of one page, 1-based.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct PageText {
    pub page: u32,
    pub pages: u32,
    pub text: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PdfError {
    Corrupt(String),
    Encrypted,
    Stopped,
}

/// Parses `bytes` and hands the text of each page after `skip` to `on_page`, in page
/// order (`skip` is the checkpoint of a resumed job); `on_page` returns false to stop
/// early. Returns the page count.
pub fn extract_pages(
    bytes: &[u8],
    skip: u32,
    mut on_page: impl FnMut(PageText) -> bool,
) -> Result<u32, PdfError> {
    let doc = Document::load_mem(bytes).map_err(|e| {
        let message = e.to_string();
        if message.to_ascii_lowercase().contains("decrypt") {
            PdfError::Encrypted
        } else {
            PdfError::Corrupt(message)
        }
    })?;
    // The loader already decrypted files whose user password is empty (owner-password
    // only), as every reader does; the rest need a password we do not have.
    if doc.is_encrypted() && doc.authenticate_password("").is_err() {
        return Err(PdfError::Encrypted);
    }
    let page_numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    let pages = u32::try_from(page_numbers.len()).unwrap_or(u32::MAX);
    if pages == 0 {
        return Err(PdfError::Corrupt("the document has no pages".into()));
    }
    for page in page_numbers.into_iter().filter(|&page| page > skip) {
        // A page whose text cannot be decoded (an unsupported font encoding, say) still
        // counts as a page: it is reported with empty text rather than failing the file.
        let text = bidi::logical_order(&doc.extract_text(&[page]).unwrap_or_default());
        if !on_page(PageText { page, pages, text }) {
            return Err(PdfError::Stopped);
        }
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::pdf as fixtures;

    fn extract(bytes: &[u8]) -> Result<Vec<PageText>, PdfError> {
        let mut pages = Vec::new();
        extract_pages(bytes, 0, |p| {
            pages.push(p);
            true
        })?;
        Ok(pages)
    }

    #[test]
    fn extracts_every_page_in_order() {
        let pages = extract(&fixtures::pdf(5)).unwrap();
        assert_eq!(pages.len(), 5);
        for (i, page) in pages.iter().enumerate() {
            assert_eq!((page.page, page.pages), (i as u32 + 1, 5));
            assert!(page.text.contains(&fixtures::page_marker(i as u32 + 1)), "{:?}", page.text);
        }
    }

    #[test]
    fn a_resumed_extraction_starts_after_its_checkpoint() {
        let mut pages = Vec::new();
        let count = extract_pages(&fixtures::pdf(5), 3, |p| {
            pages.push(p.page);
            true
        });
        assert_eq!((count, pages), (Ok(5), vec![4, 5]));
    }

    #[test]
    fn broken_files_are_corrupt() {
        for bytes in [&b"%PDF-1.4\nthis is not a pdf"[..], b"%PDF-", &fixtures::pdf(3)[..200]] {
            assert!(matches!(extract(bytes), Err(PdfError::Corrupt(_))), "{bytes:?}");
        }
    }

    #[test]
    fn a_password_protected_pdf_is_encrypted() {
        let bytes = include_bytes!("../../tests/fixtures/encrypted-aes256.pdf");
        assert!(
            matches!(extract(bytes), Err(PdfError::Encrypted)),
            "{:?}",
            extract(bytes).map(|p| p.len())
        );
    }

    #[test]
    fn an_owner_password_alone_does_not_stop_reading() {
        // Readers open these with the empty user password; so must we.
        let bytes = include_bytes!("../../tests/fixtures/owner-password-only.pdf");
        let pages = extract(bytes).unwrap();
        assert_eq!(pages.len(), 2);
        assert!(pages[1].text.contains("Secret page 2"), "{:?}", pages[1].text);
    }

    #[test]
    fn a_receiver_that_goes_away_stops_extraction() {
        let mut seen = 0;
        let result = extract_pages(&fixtures::pdf(4), 0, |_| {
            seen += 1;
            false
        });
        assert_eq!((result, seen), (Err(PdfError::Stopped), 1));
    }
}
