//! Server functions: data the server-rendered page needs, serialized for hydration.

use leptos::prelude::*;
use shared::Upload;

/// The uploads to show on first paint, newest first.
#[server(prefix = "/rpc", endpoint = "uploads")]
pub async fn list_uploads() -> Result<Vec<Upload>, ServerFnError> {
    let catalog = use_context::<crate::UploadCatalog>()
        .ok_or_else(|| ServerFnError::new("the server provided no upload catalog"))?;
    catalog.0.list().await.map_err(ServerFnError::new)
}
