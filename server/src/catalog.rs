//! What the server-rendered pages may ask of the server, through the port `app` defines.

use std::sync::Arc;

use app::{CatalogFuture, UploadCatalog, UploadSource};

use crate::{state::AppState, store::MetadataRepo};

struct RepoCatalog(Arc<dyn MetadataRepo>);

impl UploadSource for RepoCatalog {
    fn list<'a>(&'a self, owner: &'a str) -> CatalogFuture<'a> {
        Box::pin(async move { self.0.list(owner).await.map_err(|e| e.to_string()) })
    }
}

pub fn for_state(state: &AppState) -> UploadCatalog {
    UploadCatalog(Arc::new(RepoCatalog(Arc::clone(&state.repo))))
}
