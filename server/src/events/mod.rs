//! The life of an event: recorded durably (which assigns its id), fanned out in memory,
//! and framed for every SSE stream that has it in scope.

mod hub;
mod places;
mod recorder;
pub mod sse;
mod stream;

pub use hub::{EventBus, MemoryHub, Subscription};
pub use places::{StreamPlace, StreamSlots};
pub use recorder::Recorder;
pub use stream::{event_stream, StreamDeps, StreamRequest};

use std::sync::Arc;

use bytes::Bytes;
use shared::{LoggedEvent, UploadEvent, UploadId};

/// An event as it sits in the log: its id (the log sequence), whose it is, and its SSE
/// frame, encoded once and shared by every subscriber.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub upload_id: UploadId,
    /// The account whose upload it is: live streams filter on it.
    pub owner: Arc<str>,
    /// Terminal events end per-upload streams.
    pub terminal: bool,
    pub frame: Bytes,
}

impl StoredEvent {
    pub fn new(seq: i64, owner: Arc<str>, event: &UploadEvent) -> Self {
        Self::from_parts(seq, event.upload_id().clone(), owner, event.name(), &encode(event))
    }

    /// Rebuilds an event from its logged name and JSON without decoding it.
    pub fn from_parts(
        seq: i64,
        upload_id: UploadId,
        owner: Arc<str>,
        name: &str,
        data: &str,
    ) -> Self {
        Self {
            seq,
            upload_id,
            owner,
            terminal: name != UploadEvent::PROGRESS,
            frame: sse::event_frame(seq, name, data),
        }
    }
}

impl StoredEvent {
    /// The event back in typed form, for JSON that lists events; `None` for a frame this
    /// build cannot read (logged by a newer one).
    pub fn logged(&self) -> Option<LoggedEvent> {
        let (id, name, data) = sse::parse_frame(&self.frame)?;
        let event =
            UploadEvent::deserialize_named(&name, &mut serde_json::Deserializer::from_str(&data))
                .ok()?;
        Some(LoggedEvent { id, event: event.into() })
    }
}

/// The JSON an event is logged and sent as.
pub fn encode(event: &UploadEvent) -> String {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_string(event).unwrap_or_default()
}
