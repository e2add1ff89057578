//! What the server accepts, in one place for both sides: the server refuses a file that
//! breaks a limit, and the dashboard says so before a single byte is sent.

use serde::{Deserialize, Serialize};

/// The upload restrictions a server is configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadLimits {
    /// Largest accepted file, in bytes.
    pub max_upload_bytes: u64,
    /// Accepted types, spelled as in an HTML `accept` attribute: `.pdf`, `text/plain`,
    /// `image/*`. Empty: any type.
    pub allowed_types: Vec<String>,
    /// Bytes the dashboard sends in each tus request (`UPLINK_TUS_CHUNK`).
    #[serde(default = "default_tus_chunk")]
    pub tus_chunk: u64,
}

fn default_tus_chunk() -> u64 {
    8 << 20
}

impl UploadLimits {
    /// Parses `UPLINK_ALLOWED_TYPES`: comma-separated patterns, blanks ignored.
    pub fn parse_types(list: &str) -> Vec<String> {
        list.split(',').map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()).collect()
    }

    /// Whether a file of this name and declared type may be sent. Like the browser's own
    /// `accept`, this trusts the declared type: the server still sniffs the real one.
    pub fn accepts_type(&self, filename: &str, declared: Option<&str>) -> bool {
        if self.allowed_types.is_empty() {
            return true;
        }
        let name = filename.to_ascii_lowercase();
        let mime = declared
            .and_then(|m| m.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        self.allowed_types.iter().any(|pattern| match pattern.strip_suffix("/*") {
            _ if pattern.starts_with('.') => name.ends_with(pattern.as_str()),
            Some(family) => mime.split_once('/').is_some_and(|(top, _)| top == family),
            None => mime == *pattern,
        })
    }

    /// Why this file would be refused, in words for the person who picked it.
    pub fn refusal(&self, filename: &str, size: u64, declared: Option<&str>) -> Option<String> {
        if size > self.max_upload_bytes {
            return Some(format!(
                "{filename} is {}; files may be at most {}",
                human_bytes(size),
                human_bytes(self.max_upload_bytes)
            ));
        }
        self.type_refusal(filename, declared)
    }

    /// Why a file of this name and declared type would be refused; `None` when its type
    /// is accepted.
    pub fn type_refusal(&self, filename: &str, declared: Option<&str>) -> Option<String> {
        (!self.accepts_type(filename, declared)).then(|| {
            format!(
                "{filename} is not an accepted type (accepted: {})",
                self.allowed_types.join(", ")
            )
        })
    }

    /// The value for the file input's `accept` attribute.
    pub fn accept_attribute(&self) -> String {
        self.allowed_types.join(",")
    }
}

/// `1536` → `1.5 KiB`: sizes as people read them, the same on both sides.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(types: &str) -> UploadLimits {
        UploadLimits {
            max_upload_bytes: 1024,
            allowed_types: UploadLimits::parse_types(types),
            tus_chunk: 1024,
        }
    }

    #[test]
    fn patterns_match_like_an_accept_attribute() {
        let l = limits(" .PDF, text/plain ,image/*,");
        assert_eq!(l.allowed_types, [".pdf", "text/plain", "image/*"]);
        assert!(l.accepts_type("Report.Pdf", None));
        assert!(l.accepts_type("notes", Some("text/plain; charset=utf-8")));
        assert!(l.accepts_type("photo.jpg", Some("image/jpeg")));
        assert!(!l.accepts_type("movie.mp4", Some("video/mp4")));
        assert!(!l.accepts_type("page.html", Some("text/html")));
        assert!(!l.accepts_type("pdf", None), "an extension is a suffix with its dot");
        assert!(limits("").accepts_type("anything.bin", None));
    }

    #[test]
    fn refusals_name_the_file_and_the_limit() {
        let l = limits(".pdf");
        assert_eq!(
            l.refusal("big.pdf", 2048, None).as_deref(),
            Some("big.pdf is 2.0 KiB; files may be at most 1.0 KiB")
        );
        assert_eq!(
            l.refusal("a.exe", 10, None).as_deref(),
            Some("a.exe is not an accepted type (accepted: .pdf)")
        );
        assert_eq!(l.refusal("a.pdf", 1024, None), None);
    }

    #[test]
    fn bytes_are_humane() {
        let cases = [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 << 20, "5.0 MiB")];
        for (n, text) in cases {
            assert_eq!(human_bytes(n), text);
        }
    }
}
