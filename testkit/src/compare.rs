//! How close an extracted text is to a reference extractor's: the measure behind the
//! corpus test and the extraction benchmark.
//!
//! Extractors legitimately differ in whitespace (where a line breaks, whether two text
//! runs get a space between them) and in how they spell the same character (a ligature
//! glyph or two letters), so both sides are NFKC-normalised and stripped of whitespace,
//! and what remains is compared character by character.

use unicode_normalization::UnicodeNormalization;

/// `text` as compared: NFKC, no whitespace, no control characters, no bidi marks
/// (pdftotext wraps right-to-left runs in embedding marks).
pub fn normalise(text: &str) -> Vec<char> {
    let bidi_mark = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    text.nfkc().filter(|&c| !c.is_whitespace() && !c.is_control() && !bidi_mark(c)).collect()
}

/// `pdftotext`'s output as pages: it ends every page, the last one too, with a form feed.
pub fn pdftotext_pages(text: &str) -> Vec<&str> {
    let mut pages: Vec<&str> = text.split('\x0c').collect();
    pages.pop();
    pages
}

/// 1.0 for the same characters in the same order, falling towards 0.0 with the share of
/// characters that must be inserted, deleted or replaced to turn one into the other.
pub fn similarity(ours: &str, reference: &str) -> f64 {
    let (a, b) = (normalise(ours), normalise(reference));
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - edit_distance(&a, &b) as f64 / longest as f64
}

/// Levenshtein distance, in two rows of memory.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let replace = previous[j] + usize::from(ca != cb);
            current[j + 1] = replace.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_ligatures_do_not_count() {
        assert_eq!(similarity("of\u{FB01}ce  work\n", "office work"), 1.0);
    }

    #[test]
    fn pdftotext_output_splits_into_its_pages() {
        assert_eq!(pdftotext_pages("one\n\x0ctwo\n\x0c"), ["one\n", "two\n"]);
    }

    #[test]
    fn each_wrong_character_costs_its_share() {
        assert_eq!(similarity("abcd", "abce"), 0.75);
        assert_eq!(similarity("", "abcd"), 0.0);
        assert_eq!(similarity("abcdabcd", "abcd"), 0.5);
        assert_eq!(similarity("", ""), 1.0);
    }
}
