//! Background processing: a bounded pool of workers that turn stored bytes into results,
//! reporting each stage (and each page) as events.

mod bidi;
pub mod confine;
mod encoding;
pub mod pdf;
mod picture;
mod queue;
mod sandbox;
mod sniff;
mod worker;

pub use queue::Jobs;
pub use sandbox::{run_child, Extraction, Failure, Sandbox, Step, CHILD_COMMAND};
pub use sniff::{sniff, Kind};
pub use worker::WorkerContext;

use std::{sync::Arc, time::Duration};

/// Everything a worker needs, from the server's parts.
pub fn worker_context(
    recorder: Arc<crate::events::Recorder>,
    blobs: Arc<dyn crate::store::BlobStore>,
    job_timeout: Duration,
    sandbox: Sandbox,
) -> WorkerContext {
    WorkerContext { recorder, blobs, job_timeout, sandbox }
}
