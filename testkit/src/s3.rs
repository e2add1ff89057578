//! A bucket of its own for each test, made on the S3-compatible server named by
//! `UPLINK_TEST_S3_ENDPOINT` (`make test` starts moto's with `scripts/with-services`). A
//! test that needs S3 never skips: without the variable it fails, saying how to get one.
//!
//! The bucket is made, and listed in ways `object_store` does not offer (the multipart
//! uploads in progress), with plain unsigned requests, which moto accepts.

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the S3 server tests make their buckets on.
pub const ENDPOINT_VARIABLE: &str = "UPLINK_TEST_S3_ENDPOINT";

/// The region every test bucket is in.
pub const REGION: &str = "us-east-1";

/// One test's bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub endpoint: String,
    pub name: String,
}

/// Makes an empty bucket whose name is unique to this process and call.
pub async fn fresh_bucket() -> Bucket {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let endpoint = std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VARIABLE} is not set: run the tests with `make test`, or as \
             `scripts/with-services cargo test …`, which starts moto's S3 server"
        )
    });
    let name = format!("uplink-{}-{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed));
    let bucket = Bucket { endpoint, name };
    let made = reqwest::Client::new().put(bucket.url("")).send().await;
    let made = made.unwrap_or_else(|e| panic!("making bucket {}: {e}", bucket.name));
    assert!(made.status().is_success(), "making bucket {}: {}", bucket.name, made.status());
    bucket
}

impl Bucket {
    fn url(&self, query: &str) -> String {
        format!("{}/{}{query}", self.endpoint.trim_end_matches('/'), self.name)
    }

    /// `UPLINK_BLOB_STORE` for this bucket, with everything under `prefix`.
    pub fn location(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.name)
    }

    /// The settings a node of this bucket runs with (moto takes any keys).
    pub fn env(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("UPLINK_BLOB_STORE", self.location(prefix)),
            ("UPLINK_S3_ENDPOINT", self.endpoint.clone()),
            ("UPLINK_S3_REGION", REGION.to_owned()),
            ("UPLINK_S3_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
    }

    async fn get(&self, query: &str) -> String {
        let response = reqwest::get(self.url(query)).await.expect("the S3 server answers");
        assert!(response.status().is_success(), "{query}: {}", response.status());
        response.text().await.expect("a listing")
    }

    /// The keys of the multipart uploads started and neither completed nor aborted
    /// (ListMultipartUploads).
    pub async fn multipart_uploads(&self) -> Vec<String> {
        elements(&self.get("?uploads").await, "Key")
    }

    /// Every object's key (ListObjectsV2; the tests' buckets hold fewer than 1,000).
    pub async fn keys(&self) -> Vec<String> {
        elements(&self.get("?list-type=2").await, "Key")
    }

    /// How many parts object `key` was uploaded in: S3 gives a multipart object the
    /// ETag `"<md5 of the parts' md5s>-<parts>"`, and a single PUT its plain MD5.
    pub async fn parts_of(&self, key: &str) -> usize {
        let url = format!("{}/{key}", self.url(""));
        let response =
            reqwest::Client::new().head(url).send().await.expect("the S3 server answers");
        assert!(response.status().is_success(), "HEAD {key}: {}", response.status());
        let etag = response.headers()["etag"].to_str().unwrap().trim_matches('"').to_owned();
        etag.split_once('-').map_or(1, |(_, parts)| parts.parse().unwrap())
    }
}

/// The text of every `<name>` element of an S3 listing, in order.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close))
        .map(|(text, _)| text.to_owned())
        .collect()
}
