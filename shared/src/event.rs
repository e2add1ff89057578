//! The events pushed over SSE. The SSE `event:` name selects the payload type; `data:`
//! is one JSON object of that type.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

use crate::{ErrorCode, Stage, Upload, UploadId, UploadStatus};

/// `event: progress`: the upload moved (bytes arrived, a stage started, a page was read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub upload_id: UploadId,
    pub status: UploadStatus,
    pub stage: Option<Stage>,
    /// The whole job's progress, 0 to 99 (100 only arrives with `done`).
    pub percent: u8,
    pub bytes_received: Option<u64>,
    /// Unknown (null) when the client did not send a Content-Length.
    pub bytes_total: Option<u64>,
    pub page: Option<u32>,
    pub pages: Option<u32>,
    pub message: Option<String>,
    /// While `queued`: how many jobs will start before this one (exact up to 10, then
    /// rounded up to 20, 30 … 100, 200 …). Absent on other events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u32>,
    /// The upload's attempt (see [`Upload::attempt`]): a retry's events start again from
    /// `queued` and 0 percent with the next number.
    #[serde(default = "crate::upload::first_attempt")]
    pub attempt: u32,
    /// Server time the event was made, RFC 3339 with milliseconds.
    pub at: String,
    /// The whole upload, on the event that introduces it (its first event, and the
    /// snapshot a stream starts with), so a client can show an upload it has never seen
    /// without asking for it. Absent on other events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Box<Upload>>,
}

/// `event: done`: terminal; the final upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneEvent {
    pub upload_id: UploadId,
    pub upload: Upload,
    pub at: String,
}

/// `event: error`: terminal; the upload failed, was cancelled or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    pub upload_id: UploadId,
    pub code: ErrorCode,
    pub message: String,
    pub at: String,
}

/// Any event about one upload. It serializes as its payload alone (the name travels on
/// the SSE `event:` line), so `serde_json::to_string(&event)` is the `data:` line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum UploadEvent {
    Progress(ProgressEvent),
    Done(DoneEvent),
    Error(ErrorEvent),
}

impl UploadEvent {
    pub const PROGRESS: &'static str = "progress";
    pub const DONE: &'static str = "done";
    pub const ERROR: &'static str = "error";

    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Progress(_) => Self::PROGRESS,
            Self::Done(_) => Self::DONE,
            Self::Error(_) => Self::ERROR,
        }
    }

    pub fn upload_id(&self) -> &UploadId {
        match self {
            Self::Progress(e) => &e.upload_id,
            Self::Done(e) => &e.upload_id,
            Self::Error(e) => &e.upload_id,
        }
    }

    /// After a terminal event no other event for that upload follows.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::Progress(_))
    }

    /// The event's `percent` (`done` is 100, `error` has none).
    pub fn percent(&self) -> Option<u8> {
        match self {
            Self::Progress(e) => Some(e.percent),
            Self::Done(_) => Some(100),
            Self::Error(_) => None,
        }
    }

    /// Decodes an SSE event from its `event:` name and a deserializer over its `data:`
    /// (for example `&mut serde_json::Deserializer::from_str(data)`). Generic so that this
    /// crate depends on serde alone.
    pub fn deserialize_named<'de, D: Deserializer<'de>>(
        name: &str,
        data: D,
    ) -> Result<Self, EventDecodeError> {
        let bad = |e: D::Error| EventDecodeError::Data(e.to_string());
        match name {
            Self::PROGRESS => ProgressEvent::deserialize(data).map(Self::Progress).map_err(bad),
            Self::DONE => DoneEvent::deserialize(data).map(Self::Done).map_err(bad),
            Self::ERROR => ErrorEvent::deserialize(data).map(Self::Error).map_err(bad),
            other => Err(EventDecodeError::UnknownName(other.to_owned())),
        }
    }
}

/// One entry of an upload's history, from the durable event log: the SSE `id` it was
/// sent with, and the event. `GET /api/uploads/{id}/timeline` lists them oldest first,
/// each as `{"id": 7, "event": "progress", "data": {…}}`: the name beside its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "named::Logged", into = "named::Logged")]
pub struct LoggedEvent {
    pub id: i64,
    pub event: UploadEvent,
}

/// The JSON form of [`LoggedEvent`]: serde's adjacent tagging spells it, and this is
/// its only use.
mod named {
    use serde::{Deserialize, Serialize};

    use super::{DoneEvent, ErrorEvent, LoggedEvent, ProgressEvent, UploadEvent};

    #[derive(Serialize, Deserialize)]
    pub struct Logged {
        id: i64,
        #[serde(flatten)]
        event: Named,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "event", content = "data", rename_all = "lowercase")]
    enum Named {
        Progress(ProgressEvent),
        Done(DoneEvent),
        Error(ErrorEvent),
    }

    impl From<LoggedEvent> for Logged {
        fn from(logged: LoggedEvent) -> Self {
            let event = match logged.event {
                UploadEvent::Progress(e) => Named::Progress(e),
                UploadEvent::Done(e) => Named::Done(e),
                UploadEvent::Error(e) => Named::Error(e),
            };
            Self { id: logged.id, event }
        }
    }

    impl From<Logged> for LoggedEvent {
        fn from(logged: Logged) -> Self {
            let event = match logged.event {
                Named::Progress(e) => UploadEvent::Progress(e),
                Named::Done(e) => UploadEvent::Done(e),
                Named::Error(e) => UploadEvent::Error(e),
            };
            Self { id: logged.id, event }
        }
    }
}

/// Why an SSE event could not be read as an [`UploadEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDecodeError {
    UnknownName(String),
    Data(String),
}

impl fmt::Display for EventDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownName(name) => write!(f, "unknown event name {name:?}"),
            Self::Data(e) => write!(f, "malformed event data: {e}"),
        }
    }
}

impl std::error::Error for EventDecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(name: &str, data: &str) -> Result<UploadEvent, EventDecodeError> {
        UploadEvent::deserialize_named(name, &mut serde_json::Deserializer::from_str(data))
    }

    fn json(event: &UploadEvent) -> serde_json::Value {
        serde_json::to_value(event).unwrap()
    }

    fn id() -> UploadId {
        UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap()
    }

    fn progress() -> UploadEvent {
        UploadEvent::Progress(ProgressEvent {
            upload_id: id(),
            status: UploadStatus::Processing,
            stage: Some(Stage::Extracting),
            percent: 52,
            bytes_received: Some(10),
            bytes_total: Some(10),
            page: Some(2),
            pages: Some(7),
            message: None,
            ahead: None,
            attempt: 1,
            at: "2026-11-21T10:00:00.123Z".into(),
            upload: None,
        })
    }

    #[test]
    fn a_logged_event_carries_its_id_name_and_data_side_by_side() {
        let logged = LoggedEvent { id: 7, event: progress() };
        let json = serde_json::to_value(&logged).unwrap();
        assert_eq!(json["id"], 7);
        assert_eq!(json["event"], "progress");
        assert_eq!(json["data"], self::json(&progress()));
        let back: LoggedEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back.event, progress());
    }

    #[test]
    fn progress_json_has_every_contract_field() {
        let json = json(&progress());
        for key in [
            "upload_id",
            "status",
            "stage",
            "percent",
            "bytes_received",
            "bytes_total",
            "page",
            "pages",
            "message",
            "at",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["stage"], "extracting");
        assert_eq!(json["page"], 2);
    }

    #[test]
    fn error_json_has_code_and_message() {
        let event = UploadEvent::Error(ErrorEvent {
            upload_id: id(),
            code: ErrorCode::Corrupt,
            message: "not a PDF".into(),
            at: "2026-11-21T10:00:00.123Z".into(),
        });
        let json = json(&event);
        assert_eq!(json["code"], "corrupt");
        assert_eq!(json["message"], "not a PDF");
        assert!(event.is_terminal());
    }

    #[test]
    fn events_round_trip_by_name() {
        let event = progress();
        let data = serde_json::to_string(&event).unwrap();
        let back = decode(event.name(), &data).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn decode_rejects_unknown_names_and_bad_json() {
        assert!(matches!(decode("tick", "{}"), Err(EventDecodeError::UnknownName(_))));
        assert!(matches!(decode("done", "{"), Err(EventDecodeError::Data(_))));
    }
}
