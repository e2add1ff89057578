//! What the server-rendered pages may ask of the server, through the port `app` defines.

use std::sync::Arc;

use app::{CatalogFuture, TextPreview, UploadCatalog, UploadDetail, UploadSource};
use shared::{AccountId, Upload, UploadId, UploadLimits};

use crate::{http::state::AppState, uploads::history};

/// Bytes of extracted text the detail page shows.
const PREVIEW_BYTES: usize = 4096;
/// Most events the detail page lists (a 10,000-page PDF has about as many).
const MAX_EVENTS: usize = 50_000;

struct StateCatalog(AppState);

impl UploadSource for StateCatalog {
    fn list<'a>(&'a self, owner: &'a AccountId) -> CatalogFuture<'a, Vec<Upload>> {
        Box::pin(async move { self.0.repo.list(owner).await.map_err(|e| e.to_string()) })
    }

    fn detail<'a>(
        &'a self,
        owner: &'a AccountId,
        id: &'a str,
    ) -> CatalogFuture<'a, Option<UploadDetail>> {
        Box::pin(async move { detail(&self.0, owner, id).await })
    }

    fn limits(&self) -> UploadLimits {
        self.0.limits.as_ref().clone()
    }
}

async fn detail(
    state: &AppState,
    owner: &AccountId,
    id: &str,
) -> Result<Option<UploadDetail>, String> {
    let Some(id) = UploadId::parse(id) else { return Ok(None) };
    let Some(upload) = state.repo.get_owned(owner, &id).await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let mut timeline = Vec::new();
    loop {
        let after = timeline.last().map_or(0, |e: &shared::LoggedEvent| e.id);
        let page = history::timeline(&state.uploads, owner, &id, after, history::MAX_TIMELINE)
            .await
            .map_err(|e| e.to_string())?;
        let full = page.len() as u32 == history::MAX_TIMELINE;
        timeline.extend(page);
        if !full || timeline.len() >= MAX_EVENTS {
            break;
        }
    }
    let preview = match history::text_preview(&state.uploads, &upload, PREVIEW_BYTES).await {
        Ok(found) => found.map(|(text, truncated)| TextPreview { text, truncated }),
        Err(error) => {
            tracing::warn!(upload = %id, %error, "the text preview could not be read");
            None
        }
    };
    Ok(Some(UploadDetail { upload, timeline, preview }))
}

pub fn for_state(state: &AppState) -> UploadCatalog {
    UploadCatalog(Arc::new(StateCatalog(state.clone())))
}
