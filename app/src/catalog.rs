//! The port through which server-rendered pages read uploads. The server implements it
//! over its metadata store, so this crate never depends on the server.

use std::{future::Future, pin::Pin, sync::Arc};

use shared::{AccountId, Upload, UploadLimits};

use crate::api::UploadDetail;

pub type CatalogFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// What the pages read for the account being served.
pub trait UploadSource: Send + Sync + 'static {
    fn list<'a>(&'a self, owner: &'a AccountId) -> CatalogFuture<'a, Vec<Upload>>;

    /// One upload with its timeline and the start of its text; `None` when it does not
    /// exist or is someone else's.
    fn detail<'a>(
        &'a self,
        owner: &'a AccountId,
        id: &'a str,
    ) -> CatalogFuture<'a, Option<UploadDetail>>;

    /// The restrictions the dashboard shows before anything is sent.
    fn limits(&self) -> UploadLimits;
}

/// Provided as Leptos context by the server for every page and server function.
#[derive(Clone)]
pub struct UploadCatalog(pub Arc<dyn UploadSource>);
