//! The port through which server-rendered pages read uploads. The server implements it
//! over its metadata store, so this crate never depends on the server.

use std::{future::Future, pin::Pin, sync::Arc};

use shared::Upload;

pub type CatalogFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Upload>, String>> + Send + 'a>>;

/// Lists an account's uploads for the page being rendered.
pub trait UploadSource: Send + Sync + 'static {
    fn list<'a>(&'a self, owner: &'a str) -> CatalogFuture<'a>;
}

/// Provided as Leptos context by the server for every page and server function.
#[derive(Clone)]
pub struct UploadCatalog(pub Arc<dyn UploadSource>);

/// Who a page or server function runs for. The server puts it in the request's
/// extensions once it has checked the session; pages never see a request without one.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: String,
    pub username: String,
}
