//! `uplink migrate --blobs-to s3://…`: the data directory's blobs (originals, text,
//! thumbnails, and the bytes of resumable uploads still arriving) copied into the store
//! the nodes share. It runs before a migration is marked finished, so an interrupted one
//! is simply run again: a blob already there whole is skipped.
//!
//! A resumable upload's partial blob is copied up to the offset its record holds, the
//! bytes its client was told are stored, so any node goes on from there; bytes past it
//! were never acknowledged.

use std::{fmt, io};

use shared::UploadId;
use tokio::io::AsyncReadExt;

use super::{BlobKey, BlobStore, FsBlobStore, MetadataRepo, ResumableRepo, SqliteRepo, StoreError};

/// What a copy of the blobs did.
#[derive(Debug, Default)]
pub struct CopiedBlobs {
    pub copied: u64,
    pub bytes: u64,
    /// There whole already, from an earlier run.
    pub skipped: u64,
}

impl fmt::Display for CopiedBlobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { copied, bytes, skipped } = self;
        write!(f, "blobs: {copied} copied ({bytes} bytes), {skipped} there already")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("copying the blobs of {0}: {1}")]
    Io(String, io::Error),
}

/// Copies every blob of `from` into `to`; `records` says how far partial blobs go.
pub async fn copy_blobs(
    from: &FsBlobStore,
    to: &dyn BlobStore,
    records: &SqliteRepo,
) -> Result<CopiedBlobs, CopyError> {
    let mut done = CopiedBlobs::default();
    let ids = from.stored_ids().await.map_err(|e| CopyError::Io("the data directory".into(), e))?;
    for id in ids {
        for key in [
            BlobKey::Original(id.clone()),
            BlobKey::Text(id.clone()),
            BlobKey::Thumbnail(id.clone()),
        ] {
            copy_whole(from, to, &key, &mut done)
                .await
                .map_err(|e| CopyError::Io(id.to_string(), e))?;
        }
        // An upload's offset is its size; a tus partial's, its own count.
        let offset = match records.get(&id).await? {
            Some(upload) => Some(upload.size),
            None => records.partial(&id).await?.map(|partial| partial.stored),
        };
        if let Some(offset) = offset {
            copy_partial(from, to, &id, offset, &mut done)
                .await
                .map_err(|e| CopyError::Io(id.to_string(), e))?;
        }
    }
    Ok(done)
}

/// Copies a committed blob unless `to` has one of its length already.
async fn copy_whole(
    from: &FsBlobStore,
    to: &dyn BlobStore,
    key: &BlobKey,
    done: &mut CopiedBlobs,
) -> io::Result<()> {
    let (mut reader, len) = match from.open(key).await {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        opened => opened?,
    };
    if let Ok((_, there)) = to.open_at(key, len).await {
        if there == len {
            done.skipped += 1;
            return Ok(());
        }
    }
    let mut writer = to.create(key).await?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        writer.write(&buffer[..n]).await?;
    }
    writer.commit().await?;
    done.copied += 1;
    done.bytes += len;
    Ok(())
}

/// Copies the first `offset` bytes of upload `id`'s partial blob, unless `to` can go on
/// from that offset already.
async fn copy_partial(
    from: &FsBlobStore,
    to: &dyn BlobStore,
    id: &UploadId,
    offset: u64,
    done: &mut CopiedBlobs,
) -> io::Result<()> {
    let reader = match from.open(&BlobKey::Partial(id.clone())).await {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        opened => opened?.0,
    };
    if offset > 0 && to.append(id, offset).await.is_ok() {
        done.skipped += 1;
        return Ok(());
    }
    let mut appender = to.append(id, 0).await?;
    let mut reader = reader.take(offset);
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        appender.write(&buffer[..n]).await?;
    }
    let synced = appender.sync().await?;
    if synced != offset {
        let message = format!("the partial blob has {synced} bytes, its record {offset}");
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
    }
    done.copied += 1;
    done.bytes += offset;
    Ok(())
}
