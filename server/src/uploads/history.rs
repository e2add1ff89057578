//! What an upload's detail page shows beyond the upload itself: its event timeline from
//! the durable log, and the start of its extracted text.

use shared::{AccountId, LoggedEvent, Upload, UploadId};
use tokio::io::AsyncReadExt;

use super::Uploads;
use crate::{
    processing::Kind,
    store::{BlobKey, Scope, StoreError},
};

/// Most events one timeline request returns; `after` pages on.
pub const MAX_TIMELINE: u32 = 10_000;

/// Up to `limit` logged events of `owner`'s upload `id` after event `after`, oldest
/// first. Events older than the retention period have been compacted away.
pub async fn timeline(
    uploads: &Uploads,
    owner: &AccountId,
    id: &UploadId,
    after: i64,
    limit: u32,
) -> Result<Vec<LoggedEvent>, StoreError> {
    let scope = Scope::upload(owner.clone(), id.clone());
    let stored = uploads.log.events_after(&scope, after, limit.min(MAX_TIMELINE)).await?;
    Ok(stored.iter().filter_map(|event| event.logged()).collect())
}

/// Where an upload's UTF-8 text is: a UTF-8 text upload is its own text; other types
/// (Latin-1 text too) have a text blob. `None` when it has no text.
pub fn text_key(upload: &Upload) -> Option<BlobKey> {
    if !upload.has_text {
        return None;
    }
    let is_text = upload.content_type.as_deref() == Some(Kind::Text.mime());
    let id = upload.id.clone();
    Some(if is_text { BlobKey::Original(id) } else { BlobKey::Text(id) })
}

/// The first `max` bytes of the upload's text, cut back to whole characters, and whether
/// there is more.
pub async fn text_preview(
    uploads: &Uploads,
    upload: &Upload,
    max: usize,
) -> std::io::Result<Option<(String, bool)>> {
    let Some(key) = text_key(upload) else { return Ok(None) };
    let (reader, len) = uploads.blobs.open(&key).await?;
    let mut head = Vec::with_capacity(max.min(len as usize));
    reader.take(max as u64).read_to_end(&mut head).await?;
    let text = match String::from_utf8(head) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    };
    Ok(Some((text, len as usize > max)))
}
