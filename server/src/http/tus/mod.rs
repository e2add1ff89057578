//! tus 1.0 resumable uploads (`/api/tus`): the protocol's headers here; the routes come
//! with the uploads domain's resumable ingest.

pub mod headers;
