//! What Uplink's tests and its load tool share, kept out of the production binary: a
//! reader of event streams, a maker of PDFs, and the measure of how close two extracted
//! texts are.

pub mod compare;
pub mod pdf;
pub mod sse;
