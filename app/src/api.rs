//! Server functions: data the server-rendered page needs, serialized for hydration.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::Upload;

/// What the dashboard shows on first paint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    pub username: String,
    /// The viewer's uploads, newest first.
    pub uploads: Vec<Upload>,
}

#[server(prefix = "/rpc", endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardData, ServerFnError> {
    let catalog = use_context::<crate::UploadCatalog>()
        .ok_or_else(|| ServerFnError::new("the server provided no upload catalog"))?;
    let axum::Extension(viewer) = leptos_axum::extract::<axum::Extension<crate::Viewer>>()
        .await
        .map_err(|_| ServerFnError::new("log in first"))?;
    let uploads = catalog.0.list(&viewer.user_id).await.map_err(ServerFnError::new)?;
    Ok(DashboardData { username: viewer.username, uploads })
}
