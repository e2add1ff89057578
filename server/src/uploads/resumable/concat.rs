//! tus concatenation: a final upload made of partial uploads the same account sent,
//! often in parallel. The final upload is an upload like any other from its creation:
//! seen, announced, hashed, stored and processed once. Its partials, which nobody saw,
//! are gone once their bytes are its own.

use std::time::Duration;

use shared::{AccountId, ErrorCode, UploadId};
use tokio::io::AsyncReadExt;

use super::{announce, find, finish_if_full, start, within_size, within_types, Creation, Status};
use crate::{
    domain::clock,
    store::{BlobKey, Resumable},
    uploads::{UploadError, Uploads},
};

/// A final upload to make.
pub struct Final {
    pub owner: AccountId,
    /// Its partial uploads, in order.
    pub parts: Vec<UploadId>,
    /// `Upload-Concat` as sent, for HEAD to answer.
    pub concat: String,
    /// `Upload-Metadata` as sent.
    pub metadata: String,
    pub filename: String,
    pub filetype: Option<String>,
    pub expiry: Duration,
}

/// Makes the final upload of `parts`, which must all be the caller's and complete
/// (another account's is not found). Its bytes are theirs in order; it is then stored
/// and queued, and the partials removed.
pub async fn create_final(uploads: &Uploads, made: Final) -> Result<Status, UploadError> {
    let refuse = |message: String| UploadError::rejected(ErrorCode::InvalidRequest, message);
    if made.parts.is_empty() {
        return Err(refuse("a final upload names its partial uploads".into()));
    }
    let mut sorted = made.parts.clone();
    sorted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    sorted.dedup();
    if sorted.len() != made.parts.len() {
        return Err(refuse("a partial upload is named twice".into()));
    }
    // Nothing adds to, ends or expires a partial while it is read; taken in one order,
    // so two finals naming the same partials cannot wait on each other.
    let mut holds = Vec::with_capacity(sorted.len());
    for id in &sorted {
        find(uploads, &made.owner, id).await?;
        holds.push(uploads.holds.take(id).await);
    }
    let mut length: u64 = 0;
    for id in &made.parts {
        let part = find(uploads, &made.owner, id).await?;
        if !part.partial {
            return Err(refuse(format!("{id} is not a partial upload")));
        }
        if !part.full() {
            let of = part.resumable.length.map_or("its".into(), |n| format!("its {n}"));
            let message = format!("partial upload {id} has {} of {of} bytes", part.offset());
            return Err(refuse(message));
        }
        length = length.saturating_add(part.offset());
    }
    let creation = Creation {
        owner: made.owner.clone(),
        length: Some(length),
        metadata: made.metadata.clone(),
        filename: made.filename,
        filetype: made.filetype,
        expiry: made.expiry,
        partial: false,
    };
    within_size(uploads, creation.length)?;
    within_types(uploads, &creation)?;
    // No quota check: the partials' bytes count already, and become the final's.
    let resumable = Resumable {
        length: creation.length,
        metadata: made.metadata,
        expires_at: clock::after(made.expiry),
        concat: Some(made.concat),
    };
    let mut status = start(uploads, &creation, resumable).await?;
    let mut appender = uploads.blobs.append(&status.upload.id, 0).await?;
    let mut buffer = vec![0; 256 * 1024];
    for id in &made.parts {
        let (mut reader, _) = uploads.blobs.open(&BlobKey::Partial(id.clone())).await?;
        loop {
            let n = reader.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            appender.write(&buffer[..n]).await?;
        }
    }
    let durable = appender.sync().await?;
    drop(appender);
    status.upload = announce(uploads, &status, durable).await?;
    let status = finish_if_full(uploads, &made.owner, status).await?;
    for id in &made.parts {
        super::forget_partial(uploads, id).await?;
    }
    drop(holds);
    Ok(status)
}
