//! A stored blob as a response: streamed from the blob store as it is read (a blob in S3
//! never touches this node's disk), whole or one byte range of it (`Range: bytes=…`, so
//! a download cut off goes on from where it stopped, and a player can seek).

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use shared::ErrorCode;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use super::{error::ApiError, state::AppState};
use crate::store::BlobKey;

/// Streams a blob, or the one range `headers` ask for; `attachment` names the download.
/// `version` (an original's SHA-256) becomes its `ETag`, which is what a client resuming
/// a download names in `If-Range` to be sure it gets the rest of the same bytes.
pub(super) async fn blob_response(
    state: &AppState,
    headers: &HeaderMap,
    key: BlobKey,
    content_type: &str,
    attachment: Option<&str>,
    version: Option<&str>,
) -> Result<Response, ApiError> {
    let missing = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ApiError::NotFound,
        _ => ApiError::Io(e),
    };
    let wanted = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).and_then(parse_range);
    let etag = version.map(|version| format!("\"{version}\""));
    // A range only of the version named in `If-Range`, if one is: else the whole blob.
    let same = |named: &HeaderValue| etag.as_deref().is_some_and(|etag| named == etag);
    let wanted = wanted.filter(|_| headers.get(header::IF_RANGE).is_none_or(same));
    let start = match wanted {
        Some(Wanted::From(start, _)) => start,
        Some(Wanted::Last(_)) | None => 0,
    };
    let (reader, len) = state.blobs.open_at(&key, start).await.map_err(missing)?;
    let range = match wanted.map(|wanted| wanted.within(len)) {
        None => None,
        Some(Some(range)) => Some(range),
        Some(None) => {
            let message = format!("the range asked for is past the file's {len} bytes");
            let mut refused =
                ApiError::Rejected(ErrorCode::RangeNotSatisfiable, message).into_response();
            let unsatisfied = HeaderValue::from_str(&format!("bytes */{len}"));
            refused.headers_mut().insert(header::CONTENT_RANGE, unsatisfied.expect("ascii"));
            return Ok(refused);
        }
    };
    let (reader, status, body_len) = match range {
        None => (reader, StatusCode::OK, len),
        Some((first, last)) => {
            // A suffix range starts past where the read began (at 0): open it there.
            let reader = match first == start {
                true => reader,
                false => state.blobs.open_at(&key, first).await.map_err(missing)?.0,
            };
            let reader: crate::store::BlobReader = Box::pin(reader.take(last - first + 1));
            (reader, StatusCode::PARTIAL_CONTENT, last - first + 1)
        }
    };
    let mut response =
        Response::new(Body::from_stream(ReaderStream::with_capacity(reader, 64 * 1024)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(etag) = etag.and_then(|etag| HeaderValue::from_str(&etag).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if let Some((first, last)) = range {
        let value = HeaderValue::from_str(&format!("bytes {first}-{last}/{len}"));
        headers.insert(header::CONTENT_RANGE, value.expect("ascii"));
    }
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if let Some(filename) = attachment {
        if let Ok(value) = HeaderValue::from_str(&content_disposition(filename)) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// One byte range asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// `bytes=first-` or `bytes=first-last`.
    From(u64, Option<u64>),
    /// `bytes=-n`: the last `n` bytes.
    Last(u64),
}

impl Wanted {
    /// The first and last byte this asks for of a blob of `len` bytes; `None` when none
    /// of its bytes exist.
    fn within(self, len: u64) -> Option<(u64, u64)> {
        match self {
            Self::From(first, _) if first >= len => None,
            Self::From(first, last) => {
                Some((first, last.map_or(len - 1, |last| last.min(len - 1))))
            }
            Self::Last(0) => None,
            Self::Last(_) if len == 0 => None,
            Self::Last(n) => Some((len.saturating_sub(n), len - 1)),
        }
    }
}

/// `bytes=…` with one range. Anything else (several ranges, another unit, a malformed
/// one) is not an error: the whole blob is sent, as RFC 9110 lets a server do.
fn parse_range(value: &str) -> Option<Wanted> {
    let (unit, spec) = value.split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let spec = spec.trim();
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let number = |text: &str| -> Option<u64> {
        let text = text.trim();
        text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok()).flatten()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => Some(Wanted::Last(number(last)?)),
        (false, true) => Some(Wanted::From(number(first)?, None)),
        (false, false) => {
            let (first, last) = (number(first)?, number(last)?);
            (first <= last).then_some(Wanted::From(first, Some(last)))
        }
        (true, true) => None,
    }
}

/// `attachment` with an ASCII fallback name and the exact name in RFC 5987 `filename*`.
fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(filename.len() * 3);
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::{content_disposition, parse_range, Wanted};

    #[test]
    fn content_disposition_survives_any_name() {
        let cases = [
            ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
            ("my cv.pdf", "attachment; filename=\"my cv.pdf\"; filename*=UTF-8''my%20cv.pdf"),
            (
                "résumé.pdf",
                "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
            ),
            ("a\"b.txt", "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"),
        ];
        for (name, expected) in cases {
            assert_eq!(content_disposition(name), expected);
        }
    }

    #[test]
    fn one_byte_range_is_read_and_anything_else_is_the_whole_blob() {
        assert_eq!(parse_range("bytes=10-"), Some(Wanted::From(10, None)));
        assert_eq!(parse_range("bytes=10-19"), Some(Wanted::From(10, Some(19))));
        assert_eq!(parse_range("bytes=-5"), Some(Wanted::Last(5)));
        assert_eq!(parse_range("Bytes=7-"), Some(Wanted::From(7, None)), "a unit in any case");
        for whole in ["bytes=1-2,5-6", "items=0-1", "bytes=9-3", "bytes=x-", "bytes=-", "bytes=+1-"]
        {
            assert_eq!(parse_range(whole), None, "{whole}");
        }
        assert_eq!(Wanted::From(10, Some(99)).within(50), Some((10, 49)));
        assert_eq!(Wanted::From(50, None).within(50), None);
        assert_eq!(Wanted::Last(80).within(50), Some((0, 49)));
        assert_eq!(Wanted::Last(5).within(50), Some((45, 49)));
        assert_eq!(Wanted::Last(5).within(0), None);
    }
}
