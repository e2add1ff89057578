//! Uploads as a domain: their lifecycle rules and how their bytes come in.

mod filename;
mod form;
pub mod history;
pub mod ingest;
pub mod lifecycle;
pub mod quota;

pub use filename::display_name;
