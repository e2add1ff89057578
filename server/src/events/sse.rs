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

#[cfg(test)]
mod tests {
    use super::*;

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
