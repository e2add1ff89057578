//! The port through which server-rendered pages read uploads. The server implements it
//! over its metadata store, so this crate never depends on the server.

use std::{future::Future, pin::Pin, sync::Arc};

use shared::Upload;

pub type CatalogFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Upload>, String>> + Send + 'a>>;

/// Lists uploads for the page being rendered.
pub trait UploadSource: Send + Sync + 'static {
    fn list(&self) -> CatalogFuture<'_>;
}

/// Provided as Leptos context by the server for every page and server function.
#[derive(Clone)]
pub struct UploadCatalog(pub Arc<dyn UploadSource>);
