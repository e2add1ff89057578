//! Uplink's wire vocabulary, compiled into both the server and the browser.
//!
//! Everything that crosses the network is defined here once, so a renamed field or a new
//! status breaks the build on both sides instead of breaking production.

mod account;
mod error;
mod event;
mod limits;
pub mod routes;
pub mod sse;
mod upload;

pub use account::{AccountId, ApiToken, Credentials, EventsToken, NewApiToken, TokenRequest, User};
pub use error::{ErrorBody, ErrorCode};
pub use event::{DoneEvent, ErrorEvent, EventDecodeError, LoggedEvent, ProgressEvent, UploadEvent};
pub use limits::{human_bytes, UploadLimits};
pub use upload::{Stage, Upload, UploadId, UploadStatus};
