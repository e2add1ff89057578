//! Server functions: data the server-rendered pages need, serialized for hydration.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::{LoggedEvent, Upload, UploadLimits};

/// What the dashboard shows on first paint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardData {
    pub username: String,
    /// The viewer's uploads, newest first.
    pub uploads: Vec<Upload>,
    pub limits: UploadLimits,
}

/// Everything the detail page of one upload shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadDetail {
    pub upload: Upload,
    /// Its logged events, oldest first (events past the retention period are gone).
    pub timeline: Vec<LoggedEvent>,
    /// The start of its extracted text, when it has any.
    pub preview: Option<TextPreview>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextPreview {
    pub text: String,
    /// The text goes on beyond the preview.
    pub truncated: bool,
}

#[cfg(feature = "ssr")]
/// Who the page runs for (the server puts the session's [`shared::User`] in the
/// request's extensions once it has checked it) and the catalog to read from.
async fn viewer_and_catalog() -> Result<(shared::User, crate::UploadCatalog), ServerFnError> {
    let catalog = use_context::<crate::UploadCatalog>()
        .ok_or_else(|| ServerFnError::new("the server provided no upload catalog"))?;
    let axum::Extension(viewer) = leptos_axum::extract::<axum::Extension<shared::User>>()
        .await
        .map_err(|_| ServerFnError::new("log in first"))?;
    Ok((viewer, catalog))
}

#[server(prefix = "/rpc", endpoint = "dashboard")]
pub async fn load_dashboard() -> Result<DashboardData, ServerFnError> {
    let (viewer, catalog) = viewer_and_catalog().await?;
    let uploads = catalog.0.list(&viewer.id).await.map_err(ServerFnError::new)?;
    Ok(DashboardData { username: viewer.username, uploads, limits: catalog.0.limits() })
}

/// One of the viewer's uploads; `None` when there is no such upload for them.
#[server(prefix = "/rpc", endpoint = "upload")]
pub async fn load_upload(id: String) -> Result<Option<UploadDetail>, ServerFnError> {
    let (viewer, catalog) = viewer_and_catalog().await?;
    catalog.0.detail(&viewer.id, &id).await.map_err(ServerFnError::new)
}
