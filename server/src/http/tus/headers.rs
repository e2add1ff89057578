//! The tus 1.0 request headers, read strictly: `Upload-Metadata` (comma-separated
//! `key base64value` pairs, the value optional), `Upload-Checksum` (`algorithm
//! base64digest`) and the lengths and offsets, which are non-negative decimal integers.

use base64::{engine::general_purpose::STANDARD, Engine};
use shared::{routes, UploadId};

/// `Upload-Metadata`'s pairs, in order; a key without a value maps to `None`.
pub type Metadata = Vec<(String, Option<Vec<u8>>)>;

/// Reads `Upload-Metadata`. Keys are ASCII without spaces or commas, and appear once.
pub fn parse_metadata(header: &str) -> Result<Metadata, String> {
    let mut pairs: Metadata = Vec::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().unwrap_or_default();
        if !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(format!("metadata key {key:?} is not plain ASCII"));
        }
        if pairs.iter().any(|(known, _)| known == key) {
            return Err(format!("metadata key {key:?} appears twice"));
        }
        let value = match parts.next() {
            None => None,
            Some(encoded) => Some(
                STANDARD
                    .decode(encoded)
                    .map_err(|_| format!("metadata value of {key:?} is not base64"))?,
            ),
        };
        if parts.next().is_some() {
            return Err(format!("metadata pair {pair:?} has more than a key and a value"));
        }
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

/// `Upload-Metadata` as a HEAD answers it: the pairs as they were sent.
pub fn format_metadata(pairs: &Metadata) -> String {
    let pairs = pairs.iter().map(|(key, value)| match value {
        Some(value) => format!("{key} {}", STANDARD.encode(value)),
        None => key.clone(),
    });
    pairs.collect::<Vec<_>>().join(",")
}

/// The metadata value under `key`, as UTF-8 text, if there is one.
pub fn text_value(pairs: &Metadata, key: &str) -> Option<String> {
    let (_, value) = pairs.iter().find(|(known, _)| known == key)?;
    String::from_utf8(value.clone()?).ok()
}

pub use crate::uploads::resumable::Algorithm;

/// Why an `Upload-Checksum` cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum ChecksumError {
    /// An algorithm the server does not compute: `400`.
    Unsupported(String),
    /// Not `algorithm base64digest`: `400`.
    Malformed,
}

/// Reads `Upload-Checksum`: the algorithm and the digest it promises.
pub fn parse_checksum(header: &str) -> Result<(Algorithm, Vec<u8>), ChecksumError> {
    let (name, digest) = header.trim().split_once(' ').ok_or(ChecksumError::Malformed)?;
    let algorithm = Algorithm::ALL
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| ChecksumError::Unsupported(name.to_owned()))?;
    let digest = STANDARD.decode(digest.trim()).map_err(|_| ChecksumError::Malformed)?;
    Ok((algorithm, digest))
}

/// `Upload-Concat`, read.
#[derive(Debug, PartialEq, Eq)]
pub enum Concat {
    /// Not sent: a whole upload.
    None,
    /// `partial`: bytes for a final upload.
    Partial,
    /// `final;<url> <url>…`: the partial uploads' ids, in order.
    Final(Vec<UploadId>),
}

/// Reads `Upload-Concat`. A final upload's partials are named by their URLs, absolute
/// (`https://host/api/tus/<id>`) or by path (`/api/tus/<id>`), separated by spaces.
pub fn parse_concat(header: &str) -> Result<Concat, String> {
    let header = header.trim();
    if header == "partial" {
        return Ok(Concat::Partial);
    }
    let Some(urls) = header.strip_prefix("final;") else {
        return Err("Upload-Concat is `partial` or `final;<url> <url>…`".into());
    };
    let prefix = format!("{}/", routes::TUS);
    let parts = urls.split(' ').filter(|url| !url.is_empty()).map(|url| {
        // The path of an absolute URL starts at the first `/` after `://`.
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |slash| &rest[slash..]),
            None => url,
        };
        path.strip_prefix(&prefix)
            .and_then(UploadId::parse)
            .ok_or_else(|| format!("{url:?} is not the URL of an upload here"))
    });
    let parts = parts.collect::<Result<Vec<_>, _>>()?;
    match parts.is_empty() {
        true => Err("a final upload names its partial uploads".into()),
        false => Ok(Concat::Final(parts)),
    }
}

/// A length or an offset: a non-negative decimal integer, nothing else.
pub fn parse_number(header: &str) -> Option<u64> {
    let header = header.trim();
    (!header.is_empty() && header.bytes().all(|b| b.is_ascii_digit()))
        .then(|| header.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_with_its_keys_in_order() {
        let pairs =
            parse_metadata("filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,is_confidential")
                .unwrap();
        assert_eq!(text_value(&pairs, "filename").as_deref(), Some("słońce"));
        assert_eq!(text_value(&pairs, "filetype").as_deref(), Some("text/plain"));
        assert_eq!(pairs[2], ("is_confidential".to_owned(), None));
        assert_eq!(
            format_metadata(&pairs),
            "filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,is_confidential"
        );
        assert_eq!(parse_metadata("").unwrap(), Metadata::new());
    }

    #[test]
    fn broken_metadata_is_refused() {
        for bad in ["name !!!", "a YQ==,a Yg==", "a YQ== extra", "ключ YQ=="] {
            assert!(parse_metadata(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksums_name_a_known_algorithm_and_a_base64_digest() {
        let (algorithm, digest) = parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").unwrap();
        assert_eq!((algorithm, digest.len()), (Algorithm::Sha1, 20));
        assert_eq!(parse_checksum("SHA256 AAAA").unwrap().0, Algorithm::Sha256);
        assert_eq!(parse_checksum("crc32 AAAA"), Err(ChecksumError::Unsupported("crc32".into())));
        assert_eq!(parse_checksum("sha1"), Err(ChecksumError::Malformed));
        assert_eq!(parse_checksum("md5 not*base64"), Err(ChecksumError::Malformed));
    }

    #[test]
    fn concatenation_names_partials_by_url_or_path() {
        let (a, b) =
            ("0190e4a1-0000-7000-8000-000000000001", "0190e4a1-0000-7000-8000-000000000002");
        assert_eq!(parse_concat("partial"), Ok(Concat::Partial));
        let header = format!("final;https://up.example:8443/api/tus/{a} /api/tus/{b}");
        let ids = [a, b].map(|id| UploadId::parse(id).unwrap()).to_vec();
        assert_eq!(parse_concat(&header), Ok(Concat::Final(ids)));
        for bad in ["final;", "whole", "final;/api/uploads/{a}", "final;https://x/api/tus/nope"] {
            assert!(parse_concat(&bad.replace("{a}", a)).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_are_plain_decimal() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number(" 1048576 "), Some(1_048_576));
        for bad in ["", "-1", "+1", "1e6", "0x10", "99999999999999999999999"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }
}
