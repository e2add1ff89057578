//! What Uplink's tests and its load tool share, kept out of the production binary: a
//! reader of event streams, a maker of PDFs, the measure of how close two extracted
//! texts are, and a fresh PostgreSQL database and S3 bucket per test.

pub mod compare;
pub mod nginx;
pub mod pdf;
pub mod postgres;
pub mod s3;
pub mod sse;
