//! Background processing: a bounded pool of workers that turn stored bytes into results,
//! reporting each stage (and each page) as events.

mod bidi;
pub mod confine;
mod document;
mod encoding;
mod ocr;
mod picture;
mod poppler;
mod queue;
mod sandbox;
mod sniff;
mod worker;

pub use ocr::Ocr;
pub use poppler::{PageText, Step, TextPages};
pub use queue::Jobs;
pub use sandbox::{reach, run_child, Failure, Running, Sandbox, Tool, CHILD_COMMAND};
pub use sniff::{sniff, Kind};
pub use worker::WorkerContext;

use std::{sync::Arc, time::Duration};

/// Everything a worker needs, from the server's parts.
pub fn worker_context(
    recorder: Arc<crate::events::Recorder>,
    blobs: Arc<dyn crate::store::BlobStore>,
    job_timeout: Duration,
    sandbox: Sandbox,
    ocr: Option<Ocr>,
    (queue, lease): (Arc<dyn crate::store::JobQueue>, Duration),
) -> WorkerContext {
    WorkerContext { recorder, blobs, job_timeout, sandbox, ocr, queue, lease }
}
