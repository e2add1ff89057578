//! Blobs in S3-compatible object storage (`UPLINK_BLOB_STORE=s3://bucket/prefix`), for
//! nodes that share nothing but their database and their bucket.
//!
//! No byte of an upload touches a node's disk: a blob is written as a multipart upload
//! of [`PART`]-byte parts, sent one at a time while the next fills, so a node holds at
//! most two parts of each blob it writes. A blob smaller than one part is a single PUT.
//! Reads stream, from any offset. A resumable upload's partial blob, which grows over
//! requests that may land on any node, is `s3_partial`'s.

use std::{fmt, io, str::FromStr, sync::Arc};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::{
    aws::{AmazonS3, AmazonS3Builder},
    path::Path,
    GetOptions, GetRange, GetResult, ObjectStore, PutPayload,
};
use shared::UploadId;
use tokio_util::io::StreamReader;

pub(super) use super::s3_write::Parts;
use super::{
    s3_partial,
    s3_write::{abort_recorded, S3BlobWriter},
    BlobAppender, BlobKey, BlobReader, BlobStore, BlobWriter, KEY_DIRS,
};

/// The size of every part but a blob's last. S3's smallest allowed part, which some
/// S3-compatible servers (R2) also require all parts but the last to share; at S3's
/// 10,000 parts, blobs up to 48 GiB.
pub(super) const PART: usize = 5 << 20;

/// The largest blob: S3's 10,000 parts.
pub const MAX_BLOB: u64 = 10_000 * PART as u64;

/// `s3://bucket/prefix`: the bucket, and the folder in it that holds everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl FromStr for S3Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wrong = || "an S3 location, s3://bucket or s3://bucket/prefix".to_owned();
        let rest = text.strip_prefix("s3://").ok_or_else(wrong)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(wrong());
        }
        let prefix = prefix.trim_matches('/').to_owned();
        Ok(Self { bucket: bucket.to_owned(), prefix })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach the bucket. The keys come from `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (and the rest of the AWS environment) when set.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub location: S3Location,
    /// A non-AWS server's URL (MinIO, Ceph, moto); unset for AWS itself.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Whether an `http://` endpoint is allowed (a server on the same host or network).
    pub allow_http: bool,
    /// An access key id and its secret, instead of the environment's.
    pub keys: Option<(String, String)>,
}

/// Blobs as objects under one prefix of one bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    bucket: Arc<Bucket>,
}

/// The client and the prefix, shared by every writer and reader.
pub(super) struct Bucket {
    pub(super) s3: AmazonS3,
    prefix: String,
}

impl Bucket {
    /// The object `name` (`originals/<id>`) under the prefix.
    pub(super) fn path(&self, name: &str) -> Path {
        match self.prefix.is_empty() {
            true => Path::from(name),
            false => Path::from(format!("{}/{name}", self.prefix)),
        }
    }

    /// The name of an object listed under the prefix, without it.
    pub(super) fn name_of<'a>(&self, path: &'a Path) -> &'a str {
        let full = path.as_ref();
        match self.prefix.is_empty() {
            true => full,
            false => {
                full.strip_prefix(&self.prefix).map_or(full, |rest| rest.trim_start_matches('/'))
            }
        }
    }

    /// Reads a whole small object (a manifest, a tail piece) into memory.
    pub(super) async fn read(&self, name: &str) -> io::Result<Bytes> {
        let result = self.s3.get(&self.path(name)).await.map_err(io_error)?;
        result.bytes().await.map_err(io_error)
    }

    pub(super) async fn put(&self, name: &str, bytes: Bytes) -> io::Result<()> {
        self.s3.put(&self.path(name), PutPayload::from(bytes)).await.map_err(io_error)?;
        Ok(())
    }

    /// The names of every object under `dir/`.
    pub(super) async fn list(&self, dir: &str) -> io::Result<Vec<String>> {
        let listed: Vec<_> =
            self.s3.list(Some(&self.path(dir))).try_collect().await.map_err(io_error)?;
        Ok(listed.iter().map(|meta| self.name_of(&meta.location).to_owned()).collect())
    }

    /// Removes the objects named; a missing one is not an error.
    pub(super) async fn delete_all(&self, names: &[String]) -> io::Result<()> {
        let paths = futures_util::stream::iter(names.iter().map(|name| Ok(self.path(name))));
        let deleted: Vec<_> = self.s3.delete_stream(paths.boxed()).collect().await;
        for result in deleted {
            match result {
                Err(object_store::Error::NotFound { .. }) | Ok(_) => {}
                Err(e) => return Err(io_error(e)),
            }
        }
        Ok(())
    }

    /// Streams object `name` from byte `offset`, with the whole object's length.
    pub(super) async fn open_at(&self, name: &str, offset: u64) -> io::Result<(BlobReader, u64)> {
        let path = self.path(name);
        if offset == 0 {
            let result = self.s3.get(&path).await.map_err(io_error)?;
            let len = result.meta.size;
            return Ok((reader(result), len));
        }
        // S3 refuses a range starting at the end, which is an empty read here.
        let len = self.s3.head(&path).await.map_err(io_error)?.size;
        if offset >= len {
            return Ok((Box::pin(tokio::io::empty()), len));
        }
        let options = GetOptions { range: Some(GetRange::Offset(offset)), ..GetOptions::default() };
        let result = self.s3.get_opts(&path, options).await.map_err(io_error)?;
        Ok((reader(result), len))
    }
}

fn reader(result: GetResult) -> BlobReader {
    Box::pin(StreamReader::new(result.into_stream().map_err(io_error)))
}

/// The store's errors as the trait's: a missing object is `NotFound`, as a missing file is.
pub(super) fn io_error(error: object_store::Error) -> io::Error {
    match error {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, error),
        error => io::Error::other(error),
    }
}

impl S3BlobStore {
    /// Connects to the bucket and checks that it answers.
    pub async fn open(settings: &S3Settings) -> io::Result<Self> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.location.bucket)
            .with_allow_http(settings.allow_http);
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some((id, secret)) = &settings.keys {
            builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        }
        let s3 = builder.build().map_err(io::Error::other)?;
        let bucket = Arc::new(Bucket { s3, prefix: settings.location.prefix.clone() });
        // A wrong bucket, key or endpoint fails the start, not the first upload: one
        // page of a listing, which a missing bucket refuses.
        let probe = bucket.s3.list(Some(&bucket.path("originals"))).next().await;
        if let Some(Err(e)) = probe {
            let e = io_error(e);
            return Err(io::Error::new(e.kind(), format!("{}: {e}", settings.location)));
        }
        Ok(Self { bucket })
    }

    /// The client, for a tool or test that needs what the trait does not offer.
    pub fn client(&self) -> &AmazonS3 {
        &self.bucket.s3
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn create(&self, key: &BlobKey) -> io::Result<Box<dyn BlobWriter>> {
        Ok(Box::new(S3BlobWriter::new(Arc::clone(&self.bucket), &key.name())))
    }

    async fn open(&self, key: &BlobKey) -> io::Result<(BlobReader, u64)> {
        self.open_at(key, 0).await
    }

    async fn open_at(&self, key: &BlobKey, offset: u64) -> io::Result<(BlobReader, u64)> {
        match key {
            BlobKey::Partial(id) => s3_partial::open(&self.bucket, id, offset).await,
            key => self.bucket.open_at(&key.name(), offset).await,
        }
    }

    async fn delete(&self, key: &BlobKey) -> io::Result<()> {
        match key {
            BlobKey::Partial(id) => s3_partial::delete(&self.bucket, id).await,
            key => {
                abort_recorded(&self.bucket, &key.name()).await?;
                self.bucket.delete_all(&[key.name()]).await
            }
        }
    }

    async fn stored_ids(&self) -> io::Result<Vec<UploadId>> {
        let mut ids = std::collections::BTreeSet::new();
        for dir in KEY_DIRS {
            for name in self.bucket.list(dir).await? {
                // `partial/<id>/…` as well as `originals/<id>`; only names a key made.
                let id = name.split('/').nth(1).and_then(UploadId::parse);
                ids.extend(id);
            }
        }
        // A write whose node died mid-way: its upload's id, to abort.
        for name in self.bucket.list("multipart").await? {
            ids.extend(name.split('/').nth(2).and_then(UploadId::parse));
        }
        Ok(ids.into_iter().collect())
    }

    async fn append(&self, id: &UploadId, offset: u64) -> io::Result<Box<dyn BlobAppender>> {
        Ok(Box::new(s3_partial::Appender::open(Arc::clone(&self.bucket), id, offset).await?))
    }

    async fn seal(&self, id: &UploadId, length: u64) -> io::Result<()> {
        s3_partial::seal(&self.bucket, id, length).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_bucket_and_a_prefix() {
        let parsed = |text: &str| text.parse::<S3Location>();
        let at = |bucket: &str, prefix: &str| S3Location {
            bucket: bucket.into(),
            prefix: prefix.into(),
        };
        assert_eq!(parsed("s3://uploads"), Ok(at("uploads", "")));
        assert_eq!(parsed("s3://uploads/"), Ok(at("uploads", "")));
        assert_eq!(parsed("s3://uploads/team/a/"), Ok(at("uploads", "team/a")));
        assert!(parsed("uploads/team").is_err());
        assert!(parsed("s3:///team").is_err());
    }
}
