//! Right-to-left text back into reading order.
//!
//! A PDF draws glyphs where they go on the page, so Arabic and Hebrew come out of the
//! content stream in visual order (left to right, the words backwards) and Arabic in its
//! contextual presentation forms. Readers, search and copy-paste want logical order and
//! plain letters, as poppler's `pdftotext` gives them. Per line: a line mostly in a
//! right-to-left script is reversed, and the left-to-right runs inside it (a Latin word,
//! a number) are turned back; in a left-to-right line only the right-to-left runs are
//! reversed. Presentation forms and Latin ligatures become their letters (NFKC).

use unicode_normalization::UnicodeNormalization;

/// `text` with every line in reading order.
pub fn logical_order(text: &str) -> String {
    if !text.chars().any(is_rtl) {
        return plain_letters(text.chars());
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&logical_line(line));
    }
    out
}

fn logical_line(line: &str) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let rtl = chars.iter().filter(|c| is_rtl(**c)).count();
    let ltr = chars.iter().filter(|c| is_ltr(**c)).count();
    if rtl == 0 {
        return plain_letters(chars.into_iter());
    }
    if rtl > ltr {
        chars.reverse();
        reverse_runs(&mut chars, is_ltr, is_rtl);
    } else {
        reverse_runs(&mut chars, is_rtl, is_ltr);
    }
    plain_letters(chars.into_iter())
}

/// Reverses each maximal stretch that contains no `other` character, trimmed to begin and
/// end with a `kind` character (neutral spaces and punctuation at its edges stay put).
fn reverse_runs(chars: &mut [char], kind: fn(char) -> bool, other: fn(char) -> bool) {
    let mut i = 0;
    while i < chars.len() {
        if !kind(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while i < chars.len() && !other(chars[i]) {
            if kind(chars[i]) {
                end = i;
            }
            i += 1;
        }
        chars[start..=end].reverse();
    }
}

fn plain_letters(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    for c in chars {
        if is_presentation_form(c) {
            out.extend(c.nfkc());
        } else {
            out.push(c);
        }
    }
    out
}

/// Letters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, N'Ko and their
/// presentation forms).
fn is_rtl(c: char) -> bool {
    matches!(c as u32,
        0x0590..=0x05FF | 0x0600..=0x07FF | 0x0860..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
        && (c.is_alphabetic() || is_presentation_form(c))
}

/// What keeps left-to-right order inside a right-to-left line: other letters and digits.
fn is_ltr(c: char) -> bool {
    (c.is_alphanumeric() && !is_rtl(c)) || c.is_ascii_digit()
}

fn is_presentation_form(c: char) -> bool {
    matches!(c as u32, 0xFB00..=0xFB06 | 0xFB13..=0xFB17 | 0xFB1D..=0xFB4F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hebrew_line_is_read_right_to_left() {
        // As drawn on the page (visual order), then as read.
        assert_eq!(logical_order("םלוע םולש :תירבע"), "עברית: שלום עולם");
    }

    #[test]
    fn latin_words_and_numbers_inside_keep_their_order() {
        assert_eq!(logical_order("2026 םלוע םולש PDF"), "PDF שלום עולם 2026");
        assert_eq!(logical_order("Hello םלוע world"), "Hello עולם world");
    }

    #[test]
    fn arabic_presentation_forms_become_letters() {
        // "مرحبا" drawn with its contextual forms, in visual order.
        assert_eq!(logical_order("ﺎﺒﺣﺮﻣ"), "مرحبا");
    }

    #[test]
    fn left_to_right_text_is_untouched_but_for_ligatures() {
        assert_eq!(logical_order("of\u{FB01}ce, 12 > 3\nnext"), "office, 12 > 3\nnext");
    }
}
