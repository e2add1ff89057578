//! How close an extracted text is to a reference extractor's: the measure behind the
//! corpus test and the extraction benchmark.
//!
//! Both sides are NFKC-normalised (a ligature glyph and its two letters are the same
//! text) and cut into words at whitespace, and the words are compared in order: how many
//! spaces or line breaks sit between two words does not count, but whether there is one
//! does. Words run together ("TheCrazyOnes") or a lost ligature ("dierently") cost
//! their words, as they would cost a search or a screen reader. (An earlier measure
//! dropped all whitespace before comparing characters, and saw neither.)

use unicode_normalization::UnicodeNormalization;

/// `text` as compared: NFKC, no whitespace, no control characters, no bidi marks
/// (pdftotext wraps right-to-left runs in embedding marks).
pub fn normalise(text: &str) -> Vec<char> {
    text.nfkc().filter(|&c| !c.is_whitespace() && !c.is_control() && !bidi_mark(c)).collect()
}

/// `pdftotext`'s output as pages: it ends every page, the last one too, with a form feed.
pub fn pdftotext_pages(text: &str) -> Vec<&str> {
    let mut pages: Vec<&str> = text.split('\x0c').collect();
    pages.pop();
    pages
}

/// `text`'s words: NFKC, split at whitespace, without control characters or bidi marks.
pub fn words(text: &str) -> Vec<String> {
    let nfkc: String = text.nfkc().filter(|&c| !bidi_mark(c)).collect();
    nfkc.split_whitespace()
        .map(|word| word.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|word| !word.is_empty())
        .collect()
}

fn bidi_mark(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// 1.0 for the same words in the same order, falling towards 0.0 with the share of words
/// that must be inserted, deleted or replaced to turn one text into the other.
pub fn similarity(ours: &str, reference: &str) -> f64 {
    let (a, b) = (words(ours), words(reference));
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - edit_distance(&a, &b) as f64 / longest as f64
}

/// Levenshtein distance, in two rows of memory.
fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
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
    fn how_much_whitespace_and_ligature_glyphs_do_not_count() {
        assert_eq!(similarity("of\u{FB01}ce  work\n", "office work"), 1.0);
    }

    #[test]
    fn words_run_together_or_a_lost_ligature_do() {
        assert_eq!(similarity("TheCrazy Ones", "The Crazy Ones"), 1.0 - 2.0 / 3.0);
        assert_eq!(similarity("treated dierently", "treated differently"), 0.5);
    }

    #[test]
    fn pdftotext_output_splits_into_its_pages() {
        assert_eq!(pdftotext_pages("one\n\x0ctwo\n\x0c"), ["one\n", "two\n"]);
    }

    #[test]
    fn each_wrong_word_costs_its_share() {
        assert_eq!(similarity("a b c d", "a b c e"), 0.75);
        assert_eq!(similarity("", "a b c d"), 0.0);
        assert_eq!(similarity("a b a b", "a b"), 0.5);
        assert_eq!(similarity("", ""), 1.0);
    }
}
