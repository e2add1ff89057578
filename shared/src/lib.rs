//! Uplink's wire vocabulary, compiled into both the server and the browser.
//!
//! Everything that crosses the network is defined here once, so a renamed field or a new
//! status breaks the build on both sides instead of breaking production.

mod error;
mod event;
mod limits;
pub mod sse;
mod upload;

pub use error::{ErrorBody, ErrorCode};
pub use event::{
    DoneEvent, ErrorEvent, EventDecodeError, LoggedEvent, NamedEvent, ProgressEvent, UploadEvent,
};
pub use limits::{human_bytes, UploadLimits};
pub use upload::{Stage, Upload, UploadId, UploadStatus};
