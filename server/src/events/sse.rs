//! Server-Sent Events framing (the WHATWG `text/event-stream` format).

use bytes::Bytes;

/// How long a browser waits before reconnecting, sent first on every stream.
pub const RETRY_MS: u32 = 2_000;

/// A comment line: keeps proxies from closing an idle stream; EventSource ignores it.
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

pub fn retry_frame(ms: u32) -> Bytes {
    Bytes::from(format!("retry: {ms}\n\n"))
}

/// One event: `id`, `event` and one `data` line per line of `data` (JSON from serde has
/// none, but a newline must never be able to end the event early or inject a field).
pub fn event_frame(id: i64, name: &str, data: &str) -> Bytes {
    let mut frame = String::with_capacity(data.len() + name.len() + 40);
    frame.push_str("id: ");
    frame.push_str(&id.to_string());
    frame.push_str("\nevent: ");
    frame.push_str(name);
    frame.push('\n');
    for line in data.split(['\n', '\r']) {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    Bytes::from(frame)
}

/// The `(id, event, data)` of one frame made by [`event_frame`], its `data` lines joined
/// again: how the log's frames are read back as events (an upload's timeline).
pub fn parse_frame(frame: &[u8]) -> Option<(i64, String, String)> {
    let text = std::str::from_utf8(frame).ok()?;
    let (mut id, mut name, mut data) = (None, None, Vec::new());
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("event: ") {
            name = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push(v);
        }
    }
    Some((id?, name?, data.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_back_into_their_parts() {
        let frame = event_frame(7, "error", "two\nlines");
        assert_eq!(parse_frame(&frame), Some((7, "error".into(), "two\nlines".into())));
        assert_eq!(parse_frame(b"retry: 10\n\n"), None);
    }

    #[test]
    fn frames_follow_the_event_stream_format() {
        let cases: [(i64, &str, &str, &str); 4] = [
            (1, "progress", r#"{"a":1}"#, "id: 1\nevent: progress\ndata: {\"a\":1}\n\n"),
            (42, "done", "{}", "id: 42\nevent: done\ndata: {}\n\n"),
            (7, "error", "two\nlines", "id: 7\nevent: error\ndata: two\ndata: lines\n\n"),
            (8, "error", "cr\rinjected", "id: 8\nevent: error\ndata: cr\ndata: injected\n\n"),
        ];
        for (id, name, data, expected) in cases {
            assert_eq!(event_frame(id, name, data), expected.as_bytes(), "{data:?}");
        }
    }

    #[test]
    fn retry_and_keep_alive_frames() {
        assert_eq!(retry_frame(2000), "retry: 2000\n\n".as_bytes());
        assert!(KEEP_ALIVE.starts_with(b":") && KEEP_ALIVE.ends_with(b"\n\n"));
    }
}
