//! An event as it sits in the log and goes out on every stream: encoded once.

use std::sync::Arc;

use bytes::Bytes;
use shared::{sse, LoggedEvent, UploadEvent, UploadId};

/// An event as it sits in the log: its id (its place in the log, assigned at commit in
/// commit order), whose it is, and its SSE frame, encoded once and shared by every
/// subscriber.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: i64,
    pub upload_id: UploadId,
    /// The account whose upload it is: live streams filter on it.
    pub owner: Arc<str>,
    /// Terminal events end per-upload streams.
    pub terminal: bool,
    pub frame: Bytes,
}

impl StoredEvent {
    pub fn new(id: i64, owner: Arc<str>, event: &UploadEvent) -> Self {
        Self::from_parts(id, event.upload_id().clone(), owner, event.name(), &encode(event))
    }

    /// Rebuilds an event from its logged name and JSON without decoding it.
    pub fn from_parts(
        id: i64,
        upload_id: UploadId,
        owner: Arc<str>,
        name: &str,
        data: &str,
    ) -> Self {
        Self {
            id,
            upload_id,
            owner,
            terminal: name != UploadEvent::PROGRESS,
            frame: Bytes::from(sse::event_frame(id, name, data)),
        }
    }

    /// The event back in typed form, for JSON that lists events; `None` for a frame this
    /// build cannot read (logged by a newer one).
    pub fn logged(&self) -> Option<LoggedEvent> {
        let frame = sse::parse_frame(&self.frame)?;
        let event = UploadEvent::deserialize_named(
            frame.name(),
            &mut serde_json::Deserializer::from_str(&frame.data),
        )
        .ok()?;
        Some(LoggedEvent { id: frame.id?, event })
    }
}

/// The JSON an event is logged and sent as.
pub fn encode(event: &UploadEvent) -> String {
    // Plain structs of strings and numbers always serialize.
    serde_json::to_string(event).unwrap_or_default()
}
