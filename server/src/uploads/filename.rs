//! A client's filename is shown to people, never used as a path.

/// The longest name kept, in characters; longer names are cut (the bytes are unaffected).
const MAX_CHARS: usize = 255;

/// Makes a client-supplied filename safe to display and to put in a header: the last
/// path component only, no control or bidi-override characters, at most 255 characters,
/// never empty.
pub fn display_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        last.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).take(MAX_CHARS).collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        "upload".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn names_are_made_safe() {
        let long = "x".repeat(10_000);
        let cases = [
            (Some("report.pdf"), "report.pdf"),
            (Some("../../etc/passwd"), "passwd"),
            (Some("C:\\Users\\me\\cv.pdf"), "cv.pdf"),
            (Some("a\u{0}b\nc.txt"), "abc.txt"),
            (Some("evil\u{202E}fdp.exe"), "evilfdp.exe"),
            (Some(".."), "upload"),
            (Some("dir/"), "upload"),
            (Some("   "), "upload"),
            (None, "upload"),
            (Some("résumé.pdf"), "résumé.pdf"),
        ];
        for (raw, expected) in cases {
            assert_eq!(display_name(raw), expected, "{raw:?}");
        }
        assert_eq!(display_name(Some(&long)).chars().count(), 255);
    }
}
