//! Text files that are not UTF-8: the encoding guess and the UTF-8 copy.
//!
//! Text that is not valid UTF-8 but holds no NUL and no control characters beyond
//! whitespace is almost always Latin-1 as Windows writes it (Windows-1252, which is also
//! what browsers mean by `iso-8859-1`). Such a file is kept as sent, and its text
//! download is a UTF-8 copy.

/// What bytes 0x80..=0x9F mean in Windows-1252 (the rest of the high half is Latin-1,
/// the code point equal to the byte). The five bytes it leaves undefined are not text.
const HIGH_C1: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

/// The character `byte` stands for in Windows-1252, if it is one text may hold.
fn decode_byte(byte: u8) -> Option<char> {
    match byte {
        b'\t' | b'\n' | b'\r' | 0x0c => Some(byte as char),
        0x00..=0x1f | 0x7f => None,
        0x80..=0x9f => HIGH_C1[usize::from(byte - 0x80)],
        _ => Some(char::from(byte)),
    }
}

/// Whether `head` (already known not to be UTF-8) reads as Windows-1252 text.
pub fn is_latin1_text(head: &[u8]) -> bool {
    !head.is_empty() && head.iter().all(|&b| decode_byte(b).is_some())
}

/// `bytes` of Windows-1252 text as UTF-8 (a byte that is not text becomes U+FFFD).
pub fn latin1_to_utf8(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| decode_byte(b).unwrap_or('\u{FFFD}')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_text_is_recognised_and_decoded() {
        let bytes = b"caf\xe9 na\xefve, \x80 5, \x93quoted\x94\r\n";
        assert!(is_latin1_text(bytes));
        assert_eq!(latin1_to_utf8(bytes), "café naïve, € 5, “quoted”\r\n");
    }

    #[test]
    fn control_bytes_and_undefined_bytes_are_not_text() {
        for bytes in [&b"bin\x01ary"[..], b"a\x81b", b"nul\0", b""] {
            assert!(!is_latin1_text(bytes), "{bytes:?}");
        }
    }
}
