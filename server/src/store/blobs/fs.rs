//! Blobs as files under `<data>/blobs`: the embedded default, and what nodes sharing a
//! network file system use.

use std::{io, path::PathBuf, time::Duration};

use async_trait::async_trait;
use shared::UploadId;
use tokio::{
    fs,
    io::{AsyncSeekExt, AsyncWriteExt, BufWriter},
};

use super::{BlobAppender, BlobKey, BlobReader, BlobStore, BlobWriter, KEY_DIRS};

/// Blobs as files under `<data>/blobs`, written to a temporary file and renamed into
/// place on commit so a crash never leaves a half-written blob under a real key.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// The store of one server: anything in its tmp/ belongs to a write that never
    /// committed, and goes.
    pub async fn open_dir(root: impl Into<PathBuf>) -> io::Result<Self> {
        Self::open_with_leftovers(root.into(), Duration::ZERO).await
    }

    /// A store several nodes share (one network file system): its tmp/ also holds the
    /// writes other nodes are making right now, so only files nobody has written to for
    /// an hour go (a write in progress adds to its file at least every
    /// `UPLINK_UPLOAD_IDLE_TIMEOUT`, or is abandoned).
    pub async fn open_shared_dir(root: impl Into<PathBuf>) -> io::Result<Self> {
        Self::open_with_leftovers(root.into(), Duration::from_secs(3600)).await
    }

    /// Opens the store at `root`, removing what tmp/ holds untouched for `older_than`.
    async fn open_with_leftovers(root: PathBuf, older_than: Duration) -> io::Result<Self> {
        for dir in KEY_DIRS.iter().chain(&["tmp"]) {
            fs::create_dir_all(root.join(dir)).await?;
        }
        let mut leftovers = fs::read_dir(root.join("tmp")).await?;
        while let Some(entry) = leftovers.next_entry().await? {
            // A file another node committed (renamed away) meanwhile has no age to read.
            let idle = || async {
                entry.metadata().await?.modified()?.elapsed().map_err(io::Error::other)
            };
            let old = older_than.is_zero() || idle().await.is_ok_and(|idle| idle >= older_than);
            if old {
                let _ = fs::remove_file(entry.path()).await;
            }
        }
        Ok(Self { root })
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.name())
    }

    /// Upload `id`'s partial file (made when `create`), cut back to its first `len`
    /// bytes: bytes past the length last reported durable were never acknowledged. A
    /// shorter file is an `UnexpectedEof` error. Also whether it was cut.
    async fn partial_cut_to(
        &self,
        id: &UploadId,
        len: u64,
        create: bool,
    ) -> io::Result<(fs::File, bool)> {
        let path = self.path(&BlobKey::Partial(id.clone()));
        let file = fs::OpenOptions::new().write(true).create(create).open(&path).await?;
        let has = file.metadata().await?.len();
        if has < len {
            let message = format!("the partial blob has {has} bytes, not {len}");
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
        }
        if has > len {
            file.set_len(len).await?;
        }
        Ok((file, has > len))
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn create(&self, key: &BlobKey) -> io::Result<Box<dyn BlobWriter>> {
        let temp = self.root.join("tmp").join(uuid::Uuid::now_v7().to_string());
        let file = fs::File::create(&temp).await?;
        Ok(Box::new(FsBlobWriter {
            // 256 KiB batches small network chunks into large sequential writes.
            file: BufWriter::with_capacity(256 * 1024, file),
            temp,
            target: self.path(key),
        }))
    }

    async fn open(&self, key: &BlobKey) -> io::Result<(BlobReader, u64)> {
        let file = fs::File::open(self.path(key)).await?;
        let len = file.metadata().await?.len();
        Ok((Box::pin(file), len))
    }

    async fn open_at(&self, key: &BlobKey, offset: u64) -> io::Result<(BlobReader, u64)> {
        let mut file = fs::File::open(self.path(key)).await?;
        let len = file.metadata().await?.len();
        file.seek(io::SeekFrom::Start(offset.min(len))).await?;
        Ok((Box::pin(file), len))
    }

    async fn delete(&self, key: &BlobKey) -> io::Result<()> {
        match fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn stored_ids(&self) -> io::Result<Vec<UploadId>> {
        let mut ids = std::collections::BTreeSet::new();
        for dir in KEY_DIRS {
            let mut entries = fs::read_dir(self.root.join(dir)).await?;
            while let Some(entry) = entries.next_entry().await? {
                // Only names a key could have made; anything else is not ours to touch.
                if let Some(id) = entry.file_name().to_str().and_then(UploadId::parse) {
                    ids.insert(id);
                }
            }
        }
        Ok(ids.into_iter().collect())
    }

    async fn append(&self, id: &UploadId, offset: u64) -> io::Result<Box<dyn BlobAppender>> {
        let (mut file, _) = self.partial_cut_to(id, offset, offset == 0).await?;
        file.seek(io::SeekFrom::Start(offset)).await?;
        if offset == 0 {
            // A new file's name is durable only once its directory is.
            fs::File::open(self.root.join("partial")).await?.sync_all().await?;
        }
        let file = BufWriter::with_capacity(256 * 1024, file);
        Ok(Box::new(FsBlobAppender { file, len: offset, kicked: offset }))
    }

    async fn seal(&self, id: &UploadId, length: u64) -> io::Result<()> {
        let target = self.path(&BlobKey::Original(id.clone()));
        let partial = self.path(&BlobKey::Partial(id.clone()));
        // The original is the first `length` bytes, as an append would make it.
        let (file, cut) = self.partial_cut_to(id, length, false).await?;
        if cut {
            file.sync_data().await?;
        }
        drop(file);
        fs::rename(&partial, &target).await?;
        let dir = target.parent().expect("a blob path has a directory");
        fs::File::open(dir).await?.sync_all().await
    }
}

struct FsBlobAppender {
    file: BufWriter<fs::File>,
    len: u64,
    /// Where the disk has been asked to start writing up to.
    kicked: u64,
}

/// Bytes after which an appender asks the disk to start writing what it has, so the
/// sync at the end of a request waits for the last of them only, not all of them.
const WRITE_AHEAD: u64 = 2 << 20;

#[async_trait]
impl BlobAppender for FsBlobAppender {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.file.write_all(chunk).await?;
        self.len += chunk.len() as u64;
        if self.len - self.kicked >= WRITE_AHEAD {
            self.file.flush().await?;
            start_writeback(self.file.get_ref(), self.kicked, self.len - self.kicked);
            self.kicked = self.len;
        }
        Ok(())
    }

    async fn sync(&mut self) -> io::Result<u64> {
        self.file.flush().await?;
        self.file.get_mut().sync_data().await?;
        Ok(self.len)
    }
}

/// Asks the kernel to start writing `len` bytes of `file` from `from` to the disk, and
/// returns at once: `POSIX_FADV_DONTNEED` starts the writeback of those dirty pages
/// without waiting (and lets them go from the cache once written, which an upload read
/// again only by its job does not miss). The later `fdatasync` then finds most of them
/// written. Only a hint, so a failure is ignored.
fn start_writeback(file: &fs::File, from: u64, len: u64) {
    let (from, len) = (from, std::num::NonZeroU64::new(len));
    let _ = rustix::fs::fadvise(file, from, len, rustix::fs::Advice::DontNeed);
}

struct FsBlobWriter {
    file: BufWriter<fs::File>,
    temp: PathBuf,
    target: PathBuf,
}

#[async_trait]
impl BlobWriter for FsBlobWriter {
    async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.file.write_all(chunk).await
    }

    async fn commit(mut self: Box<Self>) -> io::Result<()> {
        let durable = async {
            // Small files are first written here, at the flush: a full disk fails now.
            self.file.flush().await?;
            self.file.get_mut().sync_data().await?;
            fs::rename(&self.temp, &self.target).await?;
            // The rename is durable only once its directory is: without this, a power
            // loss could take back a file whose upload was already acknowledged.
            let dir = self.target.parent().expect("a blob path has a directory");
            fs::File::open(dir).await?.sync_all().await
        };
        let result = durable.await;
        if result.is_err() {
            // Whether or not the rename happened, nothing partial stays behind.
            let _ = fs::remove_file(&self.temp).await;
        }
        result
    }

    async fn abort(self: Box<Self>) {
        drop(self.file);
        let _ = fs::remove_file(&self.temp).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn id() -> UploadId {
        UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap()
    }

    #[tokio::test]
    async fn a_blob_is_invisible_until_committed_and_gone_after_abort() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open_dir(dir.path()).await.unwrap();
        let key = BlobKey::Original(id());

        let mut writer = store.create(&key).await.unwrap();
        writer.write(b"hello ").await.unwrap();
        assert!(store.open(&key).await.is_err(), "visible before commit");
        writer.write(b"world").await.unwrap();
        writer.commit().await.unwrap();

        let (mut reader, len) = store.open(&key).await.unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).await.unwrap();
        assert_eq!((text.as_str(), len), ("hello world", 11));

        let mut writer = store.create(&BlobKey::Text(id())).await.unwrap();
        writer.write(b"partial").await.unwrap();
        writer.abort().await;
        assert!(store.open(&BlobKey::Text(id())).await.is_err());
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);

        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(store.open(&key).await.is_err());
    }

    #[tokio::test]
    async fn a_node_opening_a_shared_store_leaves_the_writes_of_others_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open_dir(dir.path()).await.unwrap();
        let mut writing = store.create(&BlobKey::Original(id())).await.unwrap();
        writing.write(b"arriving on another node").await.unwrap();

        FsBlobStore::open_shared_dir(dir.path()).await.unwrap();
        writing.write(b", still").await.unwrap();
        writing.commit().await.expect("its temporary file is still there");

        // One server alone: whatever is in tmp/ at its start was never committed.
        let mut left = store.create(&BlobKey::Text(id())).await.unwrap();
        left.write(b"left behind").await.unwrap();
        FsBlobStore::open_dir(dir.path()).await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
