//! Uploads as a domain: their lifecycle rules and how their bytes come in.

pub mod ingest;
pub mod lifecycle;
mod filename;

pub use filename::display_name;
