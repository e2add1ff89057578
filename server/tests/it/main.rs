//! Every integration test of the server in one binary: one link of the server, leptos,
//! sqlx and image instead of one per file, and one process whose tests share the
//! machine's two cores the way separate binaries did. The counting-allocator test
//! (`tests/memory.rs`) and the confined child (`tests/confinement.rs`) stay apart: each
//! needs a process of its own.

mod build;
mod common;
mod conformance;
mod layering;

mod account_abuse;
mod api;
mod api_tokens;
mod auth;
mod cancel;
mod cluster_limits;
mod cluster_queue;
mod corpus;
mod cors;
mod extraction;
mod fairness;
mod fuzz_pdf;
mod hostile;
mod hostile_clients;
mod hostile_pdfs;
mod isolation;
mod migrate;
mod multipart_race;
mod nodes;
mod proxy;
mod replay;
mod restart;
mod retry;
mod s3;
mod shutdown;
mod stalled;
mod store;
mod stream;
mod stuck;
mod takeover;
mod tus;
