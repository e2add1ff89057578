//! tus 1.0 through a real server: the protocol's statuses and headers, table-driven
//! where they are a table, each extension, durability, concatenation, and another
//! account seeing nothing. What the tests share is here.

mod concat;
mod durability;
mod extensions;
mod protocol;
mod table;

use crate::common;

use common::{Account, TestServer};
use reqwest::{header, Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

const TUS: (&str, &str) = ("tus-resumable", "1.0.0");
const OFFSET_STREAM: &str = "application/offset+octet-stream";

fn text(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

async fn create(client: &reqwest::Client, server: &TestServer, length: usize) -> String {
    let created = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string())
        // "słońce" and text/plain, as the protocol's clients encode them.
        .header("upload-metadata", "filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,flag")
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    text(&created, "location").expect("a Location")
}

/// The upload id at the end of a tus Location.
fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_owned()
}

/// Reads `events` until upload `id` is done; bounded, so that an upload never finished
/// fails the test instead of hanging it.
async fn until_done(events: &mut common::SseReader, id: &str) -> Vec<common::Sse> {
    let done = events.until(|e| e.name() == "done" && e.json()["upload_id"] == id);
    let done = tokio::time::timeout(std::time::Duration::from_secs(20), done).await;
    done.unwrap_or_else(|_| panic!("upload {id} was never queued and processed"))
}

/// Upload `id` stored exactly `data`, every byte once.
async fn assert_stored(client: &reqwest::Client, server: &TestServer, id: &str, data: &[u8]) {
    let upload = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["sha256"], hex::encode(Sha256::digest(data)), "every byte once");
}

async fn patch(
    client: &reqwest::Client,
    server: &TestServer,
    location: &str,
    offset: usize,
    body: &[u8],
) -> reqwest::Response {
    client
        .patch(server.url(location))
        .header(TUS.0, TUS.1)
        .header("upload-offset", offset.to_string())
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}
