//! The `text/event-stream` format (WHATWG HTML, "Server-sent events") as Uplink speaks
//! it: the frames the server writes, and one incremental reader of them for every
//! client that is not a browser (the tests' reader and the load tool).

/// A comment block: keeps proxies from closing an idle stream; EventSource ignores it.
pub const KEEP_ALIVE: &str = ": keep-alive\n\n";

/// The block that tells a client how long to wait before reconnecting.
pub fn retry_frame(ms: u32) -> String {
    format!("retry: {ms}\n\n")
}

/// One event: `id`, `event` and one `data` line per line of `data` (JSON from serde has
/// none, but a newline must never be able to end the event early or inject a field).
pub fn event_frame(id: i64, name: &str, data: &str) -> String {
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
    frame
}

/// One block of a stream, ended by a blank line: an event, a `retry:`, or a comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// `None` when absent or not a number (Uplink's ids always are).
    pub id: Option<i64>,
    pub event: Option<String>,
    /// The `data` lines joined with `\n`.
    pub data: String,
    pub retry: Option<u64>,
    /// A block of comments alone (the server's keep-alive).
    pub comment: bool,
}

impl Frame {
    /// The event's name, `""` for a block that is not an event.
    pub fn name(&self) -> &str {
        self.event.as_deref().unwrap_or("")
    }
}

/// An incremental reader: bytes in, whole frames out, however the stream happens to be
/// cut into chunks (a line may end with `\n` or `\r\n`).
#[derive(Debug, Default)]
pub struct Reader {
    line: Vec<u8>,
    frame: Frame,
    data: Option<String>,
    /// Anything but comments seen in the current block.
    fields: bool,
}

impl Reader {
    /// Feeds the next chunk; calls `found` for every frame it completes.
    pub fn feed(&mut self, chunk: &[u8], mut found: impl FnMut(Frame)) {
        for &byte in chunk {
            if byte != b'\n' {
                self.line.push(byte);
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let line = std::mem::take(&mut self.line);
            if let Some(frame) = self.line_done(&line) {
                found(frame);
            }
            // The line's buffer is reused for the next one.
            self.line = line;
            self.line.clear();
        }
    }

    /// [`Reader::feed`], collecting the frames.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        self.feed(chunk, |frame| frames.push(frame));
        frames
    }

    fn line_done(&mut self, line: &[u8]) -> Option<Frame> {
        if line.is_empty() {
            let mut frame = std::mem::take(&mut self.frame);
            frame.data = self.data.take().unwrap_or_default();
            frame.comment &= !std::mem::take(&mut self.fields);
            return (frame.comment || frame != Frame::default()).then_some(frame);
        }
        if line[0] == b':' {
            self.frame.comment = true;
            return None;
        }
        self.fields = true;
        let line = String::from_utf8_lossy(line);
        let (field, value) = line.split_once(':').unwrap_or((&line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => self.frame.id = value.parse().ok(),
            "event" => self.frame.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "retry" => self.frame.retry = value.parse().ok(),
            // The format says to ignore any other field.
            _ => {}
        }
        None
    }
}

/// The one frame in `block` (as made by [`event_frame`]); `None` when it holds none.
pub fn parse_frame(block: &[u8]) -> Option<Frame> {
    let mut reader = Reader::default();
    let mut found = reader.push(block);
    if !block.ends_with(b"\n\n") {
        found.extend(reader.push(b"\n\n"));
    }
    found.pop()
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
            assert_eq!(event_frame(id, name, data), expected, "{data:?}");
        }
        assert_eq!(retry_frame(2000), "retry: 2000\n\n");
    }

    #[test]
    fn frames_parse_back_into_their_parts() {
        let frame = parse_frame(event_frame(7, "error", "two\nlines").as_bytes()).unwrap();
        assert_eq!((frame.id, frame.name(), frame.data.as_str()), (Some(7), "error", "two\nlines"));
        let retry = parse_frame(b"retry: 10\n\n").unwrap();
        assert_eq!((retry.retry, retry.event), (Some(10), None));
        assert!(parse_frame(KEEP_ALIVE.as_bytes()).unwrap().comment);
        assert_eq!(parse_frame(b"\n\n"), None);
    }

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let stream =
            b"retry: 2000\n\n: keep-alive\n\nid: 7\nevent: progress\r\ndata: {\"a\":1}\n\n";
        for cut in 0..stream.len() {
            let mut reader = Reader::default();
            let mut frames = reader.push(&stream[..cut]);
            frames.extend(reader.push(&stream[cut..]));
            let event = Frame {
                id: Some(7),
                event: Some("progress".into()),
                data: "{\"a\":1}".into(),
                ..Frame::default()
            };
            let expected = [
                Frame { retry: Some(2000), ..Frame::default() },
                Frame { comment: true, ..Frame::default() },
                event,
            ];
            assert_eq!(frames, expected, "cut at {cut}");
        }
    }
}
