//! tus concatenation: a final upload made of partial uploads the same account sent,
//! often in parallel. The final upload is an upload like any other from its creation:
//! seen, announced, hashed, stored and processed once. Its partials, which nobody saw,
//! are gone once their bytes are its own.

use sha2::{Digest, Sha256};
use shared::{AccountId, ErrorCode, UploadId, UploadStatus};
use tokio::io::AsyncReadExt;

use super::{announce, find, finish_if_full, start, within_size, within_types, Creation, Status};
use crate::{
    domain::clock,
    store::{BlobKey, Resumable},
    uploads::{UploadError, Uploads},
};

/// A final upload to make.
pub struct Final {
    /// The upload, as any other is created; its length is its partials'.
    pub creation: Creation,
    /// Its partial uploads, in order.
    pub parts: Vec<UploadId>,
    /// `Upload-Concat` as sent, for HEAD to answer.
    pub concat: String,
}

/// Makes the final upload of `parts`, which must all be the caller's and complete
/// (another account's is not found). Its bytes are theirs in order; it is then stored
/// and queued, and the partials removed.
pub async fn create_final(uploads: &Uploads, made: Final) -> Result<Status, UploadError> {
    let Final { mut creation, parts, concat } = made;
    let owner = creation.owner.clone();
    let refuse = |message: String| UploadError::rejected(ErrorCode::InvalidRequest, message);
    if parts.is_empty() {
        return Err(refuse("a final upload names its partial uploads".into()));
    }
    let mut sorted = parts.clone();
    sorted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    sorted.dedup();
    if sorted.len() != parts.len() {
        return Err(refuse("a partial upload is named twice".into()));
    }
    // Nothing adds to, ends or expires a partial while it is read; taken in one order,
    // so two finals naming the same partials cannot wait on each other.
    let mut holds = Vec::with_capacity(sorted.len());
    for id in &sorted {
        find(uploads, &owner, id).await?;
        holds.push(uploads.holds.take(id).await);
    }
    let mut lengths = Vec::with_capacity(parts.len());
    for id in &parts {
        let part = find(uploads, &owner, id).await?;
        if !part.partial {
            return Err(refuse(format!("{id} is not a partial upload")));
        }
        if !part.full() {
            let of = part.resumable.length.map_or("its".into(), |n| format!("its {n}"));
            let message = format!("partial upload {id} has {} of {of} bytes", part.offset());
            return Err(refuse(message));
        }
        lengths.push((id.clone(), part.offset()));
    }
    let length = lengths.iter().fold(0u64, |sum, (_, n)| sum.saturating_add(*n));
    creation.length = Some(length);
    creation.partial = false;
    within_size(uploads, creation.length)?;
    within_types(uploads, &creation)?;
    // No quota check: the partials' bytes count already, and become the final's.
    let resumable = Resumable {
        length: creation.length,
        metadata: creation.metadata.clone(),
        expires_at: clock::after(creation.expiry),
        concat: Some(concat),
    };
    let status = start(uploads, &creation, resumable).await?;
    let id = status.upload.id.clone();
    // Nobody else completes it meanwhile (a HEAD on it, once it looks full).
    let hold = uploads.holds.take(&id).await;
    let joined = join(uploads, &owner, status, &lengths).await;
    drop(hold);
    match joined {
        Ok(status) if status.upload.status == UploadStatus::Queued => {
            for part in &parts {
                super::forget_partial(uploads, part).await?;
            }
            drop(holds);
            Ok(status)
        }
        // The partials stay for the client to try again; the final goes.
        Ok(_) => {
            let _ = uploads.remove(&owner, &id).await;
            Err(std::io::Error::other("the final upload could not be stored").into())
        }
        Err(error) => {
            let _ = uploads.remove(&owner, &id).await;
            Err(error)
        }
    }
}

/// Copies each partial's bytes, as many as it durably has, into the final upload, and
/// completes it.
async fn join(
    uploads: &Uploads,
    owner: &AccountId,
    mut status: Status,
    parts: &[(UploadId, u64)],
) -> Result<Status, UploadError> {
    let mut appender = uploads.blobs.append(&status.upload.id, 0).await?;
    let mut buffer = vec![0; 256 * 1024];
    // Hashed on the way, so completing it need not read it again.
    let mut digest = Sha256::new();
    for (part, length) in parts {
        let (reader, _) = uploads.blobs.open(&BlobKey::Partial(part.clone())).await?;
        let mut reader = reader.take(*length);
        let mut copied = 0;
        loop {
            let n = reader.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            appender.write(&buffer[..n]).await?;
            digest.update(&buffer[..n]);
            copied += n as u64;
        }
        if copied != *length {
            let error = format!("partial upload {part} has {copied} bytes stored, not {length}");
            return Err(std::io::Error::other(error).into());
        }
    }
    let durable = appender.sync().await?;
    drop(appender);
    uploads.digests.keep(&status.upload.id, durable, digest);
    status.upload = announce(uploads, &status, durable).await?;
    finish_if_full(uploads, owner, status).await
}
