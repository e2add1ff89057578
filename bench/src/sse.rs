//! What the load tool reads from an event stream: events, `retry:` and keep-alives, each
//! event's time stamp, through the shared incremental reader.

use serde::Deserialize;
use shared::sse::Frame;

/// One thing a stream said.
#[derive(Debug, PartialEq)]
pub enum Item {
    Retry,
    /// A comment line: the server's keep-alive.
    Comment,
    Event {
        name: String,
        data: String,
    },
}

/// The fields of an event's `data` the load tool reads; the rest is skipped unparsed.
#[derive(Debug, Deserialize)]
pub struct Stamp {
    /// Server time the event was made (RFC 3339).
    pub at: String,
    pub upload_id: String,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
}

impl Stamp {
    pub fn parse(data: &str) -> Option<Self> {
        serde_json::from_str(data).ok()
    }

    /// Milliseconds since the Unix epoch at which the server made the event.
    pub fn at_ms(&self) -> Option<f64> {
        let at = chrono::DateTime::parse_from_rfc3339(&self.at).ok()?;
        Some(at.timestamp_micros() as f64 / 1000.0)
    }
}

/// Now, in milliseconds since the Unix epoch, comparable with [`Stamp::at_ms`] on the same
/// machine.
pub fn now_ms() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1000.0
}

/// The parsing itself is the shared reader's, the one the tests use too.
#[derive(Default)]
pub struct Reader(shared::sse::Reader);

impl Reader {
    /// Feeds the next chunk; calls `found` for every item it completes.
    pub fn feed(&mut self, chunk: &[u8], mut found: impl FnMut(Item)) {
        self.0.feed(chunk, |frame| {
            found(match frame {
                Frame { event, data, .. } if event.is_some() || !data.is_empty() => {
                    Item::Event { name: event.unwrap_or_default(), data }
                }
                Frame { retry: Some(_), .. } => Item::Retry,
                _ => Item::Comment,
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_told_apart_as_the_load_tool_counts_them() {
        // How a stream is cut is the shared reader's business (and its test's).
        let mut items = Vec::new();
        Reader::default().feed(b"retry: 5\n\n: keep-alive\n\nevent: done\ndata: {}\n\n", |item| {
            items.push(item)
        });
        let done = Item::Event { name: "done".into(), data: "{}".into() };
        assert_eq!(items, [Item::Retry, Item::Comment, done]);
    }

    #[test]
    fn a_stamp_reads_its_time_to_the_millisecond() {
        let stamp = Stamp::parse(
            r#"{"upload_id":"u1","status":"processing","stage":"extracting","page":3,"at":"2026-11-21T10:00:00.123Z","upload":{"created_at":"x"}}"#,
        )
        .unwrap();
        assert_eq!(stamp.at_ms(), Some(1_795_255_200_123.0));
        assert_eq!((stamp.stage.as_deref(), stamp.page), (Some("extracting"), Some(3)));
    }
}
