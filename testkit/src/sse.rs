//! Reading a server's event stream as a test does: one event at a time, over reqwest,
//! with [`shared::sse::Reader`] doing the parsing (the load tool uses that reader too).

use std::{collections::VecDeque, ops::Deref, pin::Pin};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use shared::sse::{Frame, Reader};

/// One block of a stream as a test reads it: a [`Frame`], and its data as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sse(pub Frame);

impl Deref for Sse {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.0
    }
}

impl Sse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// [`Reader`] collecting [`Sse`]s.
#[derive(Default)]
pub struct SseParser(Reader);

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Sse> {
        self.0.push(bytes).into_iter().map(Sse).collect()
    }
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Reads an SSE response one event at a time.
pub struct SseReader {
    body: Body,
    parser: SseParser,
    pending: VecDeque<Sse>,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::default(),
            pending: VecDeque::new(),
        }
    }

    /// A reader of a stream that has taken its starting point: its `retry:` is read, so
    /// anything committed from now on will reach it as a live event (a response's headers
    /// can arrive before the stream has read its snapshot).
    pub async fn started(response: reqwest::Response) -> Self {
        let mut reader = Self::new(response);
        let first = reader.next().await.expect("a stream starts with `retry:`");
        assert!(first.retry.is_some(), "{first:?}");
        reader
    }

    /// The next block, or `None` when the stream has ended.
    pub async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let chunk = self.body.next().await?.unwrap();
            self.pending.extend(self.parser.push(&chunk));
        }
    }

    /// Reads until `count` uploads have ended (`done` or `error` events), or the stream
    /// ends; the named events read.
    pub async fn until_finished(&mut self, count: usize) -> Vec<Sse> {
        let mut finished = 0;
        let events = self
            .until(|e| {
                finished += usize::from(matches!(e.name(), "done" | "error"));
                finished == count
            })
            .await;
        named(&events).into_iter().cloned().collect()
    }

    /// Reads until an event satisfies `stop` (inclusive) or the stream ends.
    pub async fn until(&mut self, mut stop: impl FnMut(&Sse) -> bool) -> Vec<Sse> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            let done = stop(&event);
            events.push(event);
            if done {
                break;
            }
        }
        events
    }
}

/// Reads an SSE response body until it ends (or `stop` says so), returning its blocks.
pub async fn read_sse(response: reqwest::Response, stop: impl FnMut(&Sse) -> bool) -> Vec<Sse> {
    SseReader::new(response).until(stop).await
}

/// Real events only (no retry or keep-alive blocks).
pub fn named(events: &[Sse]) -> Vec<&Sse> {
    events.iter().filter(|e| e.event.is_some()).collect()
}
