//! The real type of a file, from its first bytes (never from its name).

/// How many leading bytes sniffing looks at.
pub const SNIFF_LEN: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    /// UTF-8 text.
    Text,
    /// Text in Windows-1252 (Latin-1): not UTF-8, but nothing else a text file cannot hold.
    Latin1Text,
    Png,
    Jpeg,
    Gif,
    Webp,
    Other,
}

impl Kind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Text => "text/plain; charset=utf-8",
            Self::Latin1Text => "text/plain; charset=windows-1252",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Other => "application/octet-stream",
        }
    }
}

/// Sniffs `head`, the first (up to) [`SNIFF_LEN`] bytes of a file.
pub fn sniff(head: &[u8]) -> Kind {
    // Readers accept a PDF header anywhere in the first KiB (after junk some tools prepend).
    let pdf_window = &head[..head.len().min(1024)];
    if pdf_window.windows(5).any(|w| w == b"%PDF-") {
        return Kind::Pdf;
    }
    match head {
        [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', ..] => return Kind::Png,
        [0xff, 0xd8, 0xff, ..] => return Kind::Jpeg,
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => return Kind::Gif,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => return Kind::Webp,
        _ => {}
    }
    if !head.is_empty() && !head.contains(&0) && is_utf8_prefix(head) {
        Kind::Text
    } else if super::encoding::is_latin1_text(head) {
        Kind::Latin1Text
    } else {
        Kind::Other
    }
}

/// UTF-8, allowing the window to cut the last character in half.
fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        let cases: [(&[u8], Kind); 12] = [
            (b"na\xefve caf\xe9\r\n", Kind::Latin1Text),
            (b"%PDF-1.7\n...", Kind::Pdf),
            (b"\xef\xbb\xbfjunk then %PDF-1.4", Kind::Pdf),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Kind::Png),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", Kind::Jpeg),
            (b"GIF89a\x01\0", Kind::Gif),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Kind::Webp),
            (b"hello, world\n", Kind::Text),
            ("naïve café".as_bytes(), Kind::Text),
            (b"caf\xc3", Kind::Text),
            (b"bin\0ary", Kind::Other),
            (b"", Kind::Other),
        ];
        for (head, kind) in cases {
            assert_eq!(sniff(head), kind, "{head:?}");
        }
        assert_eq!(sniff(b"\xff\xfe\x00\x01 not text"), Kind::Other);
    }
}
