//! Right-to-left lines of `pdftotext`'s output put into reading order.
//!
//! poppler writes each right-to-left run (Arabic, Hebrew) in reading order, wrapped in
//! embedding marks (U+202B … U+202C), but lays the runs of a line out left to right as
//! they sit on the page. A reader showing the text bidirectionally gets it right; search,
//! copy-paste and screen readers get the sentence's pieces backwards. So in a line mostly
//! in a right-to-left script, the runs are taken right to left, the marks dropped, and
//! the punctuation at the edges of a left-to-right run ("PDF." drawn as ".PDF") goes
//! back to the end it belongs to. Lines without such a run are only stripped of
//! compatibility ligature glyphs (`ﬁ` → `fi`), which pdftotext sometimes keeps.

use unicode_normalization::UnicodeNormalization;

/// Right-to-left embedding, and the pop that ends it.
const RLE: char = '\u{202B}';
const PDF: char = '\u{202C}';

/// `text` with every line in reading order.
pub fn logical_order(text: &str) -> String {
    if !text.contains(RLE) {
        return plain_letters(text);
    }
    let lines: Vec<String> = text.split('\n').map(logical_line).collect();
    lines.join("\n")
}

/// One run of a line: right-to-left (inside the marks) or not.
struct Run {
    rtl: bool,
    text: String,
}

fn logical_line(line: &str) -> String {
    let mut runs: Vec<Run> = Vec::new();
    let mut current = Run { rtl: false, text: String::new() };
    for c in line.chars() {
        match c {
            RLE | PDF => {
                let rtl = c == RLE;
                let done = std::mem::replace(&mut current, Run { rtl, text: String::new() });
                if !done.text.is_empty() {
                    runs.push(done);
                }
            }
            _ => current.text.push(c),
        }
    }
    if !current.text.is_empty() {
        runs.push(current);
    }
    let count = |rtl: bool| -> usize {
        let runs = runs.iter().filter(|run| run.rtl == rtl);
        runs.map(|run| run.text.chars().filter(|c| c.is_alphanumeric()).count()).sum()
    };
    if count(true) > count(false) {
        runs.reverse();
        for run in runs.iter_mut().filter(|run| !run.rtl) {
            run.text = edges_swapped(&run.text);
        }
    }
    let line: String = runs.iter().map(|run| run.text.as_str()).collect();
    plain_letters(&line)
}

/// A left-to-right run drawn inside a right-to-left line has its neutral edges (spaces,
/// punctuation) on the sides they were drawn on: each edge goes to the other end.
fn edges_swapped(text: &str) -> String {
    let neutral = |c: char| !c.is_alphanumeric();
    let core = text.trim_matches(neutral);
    if core.is_empty() {
        return text.chars().rev().collect();
    }
    let start = text.find(core).unwrap_or(0);
    let (lead, trail) = (&text[..start], &text[start + core.len()..]);
    let reversed = |edge: &str| edge.chars().rev().collect::<String>();
    format!("{}{core}{}", reversed(trail), reversed(lead))
}

/// Compatibility ligatures and presentation forms as their letters (NFKC), the rest as is.
fn plain_letters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_presentation_form(c) {
            out.extend(c.nfkc());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_presentation_form(c: char) -> bool {
    matches!(c as u32, 0xFB00..=0xFB06 | 0xFB13..=0xFB17 | 0xFB1D..=0xFB4F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hebrew_line_is_read_right_to_left() {
        // As pdftotext writes it, then as read.
        assert_eq!(
            logical_order("\u{202B} שלום עולם\u{202C}:\u{202B}עברית\u{202C}"),
            "עברית: שלום עולם"
        );
    }

    #[test]
    fn a_latin_word_inside_keeps_its_order_and_its_full_stop() {
        let drawn = ".PDF \u{202B} هذا ملف\u{202C}.\u{202B}مرحبا بالعالم\u{202C}";
        assert_eq!(logical_order(drawn), "مرحبا بالعالم. هذا ملف PDF.");
    }

    #[test]
    fn a_mostly_left_to_right_line_keeps_its_order() {
        assert_eq!(logical_order("Hello \u{202B}עולם\u{202C} world"), "Hello עולם world");
    }

    #[test]
    fn left_to_right_text_is_untouched_but_for_ligatures() {
        assert_eq!(logical_order("of\u{FB01}ce, 12 > 3\nnext"), "office, 12 > 3\nnext");
    }
}
