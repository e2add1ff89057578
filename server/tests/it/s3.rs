//! One node storing its bytes in S3 (moto): a large upload goes up as parts while it
//! arrives and comes back whole, and an upload cut off on the way leaves no multipart
//! upload behind, which S3 would otherwise keep, and bill, for good. Downloads read byte
//! ranges, from S3 as from the data directory.

use std::sync::Arc;

use uplink::{store::BlobStore, AppState};

use crate::common::{self, post_file, within, TestServer};

const MIB: usize = 1 << 20;

async fn server_on(bucket: &testkit::s3::Bucket) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(common::s3_store(bucket, "node").await);
    let config = common::test_config(&dir, |_| {});
    let state = AppState::open_with_blobs(config, common::leptos_options(), blobs).await.unwrap();
    TestServer::serve(dir, state).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_is_stored_as_parts_and_read_back_whole() {
    let bucket = testkit::s3::fresh_bucket().await;
    let server = server_on(&bucket).await;
    let data: Vec<u8> = (0..12 * MIB).map(|i| (i * 13 % 251) as u8).collect();
    let created = post_file(&server.client, &server.base(), "big.bin", &data).await;
    let id = created["id"].as_str().unwrap();

    assert!(bucket.parts_of(&format!("node/originals/{id}")).await >= 2, "12 MiB in parts");
    let file = server.client.get(server.url(&format!("/api/uploads/{id}/file"))).send().await;
    let file = file.unwrap().bytes().await.unwrap();
    assert!(file == data, "read back as sent");
    assert!(bucket.multipart_uploads().await.is_empty());
    // Nothing of it on the node's own disk.
    let on_disk = std::fs::read_dir(server.dir.path().join("blobs")).map_or(0, |dir| dir.count());
    assert_eq!(on_disk, 0, "no blob directory at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_off_leaves_no_multipart_upload_behind() {
    let bucket = testkit::s3::fresh_bucket().await;
    let server = server_on(&bucket).await;
    let mut events = common::account_events(&server).await;
    // A form whose file never ends, sent until it is cut off.
    let (content_type, form) = common::multipart("file", "cut.bin", b"");
    let file_starts = form.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = form[..file_starts].to_vec();
    let (send, stream) = common::channel_body();
    let request = server
        .client
        .post(server.url("/api/uploads"))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(stream)
        .send();
    let request = tokio::spawn(request);
    // Sent until the server says it has stored more than a part, piece by piece: its
    // progress events come at a bounded rate, while bytes arrive.
    let sent_enough = async {
        send.send(Ok(head)).await.unwrap();
        let piece = vec![5u8; 256 * 1024];
        for _ in 0..(900 * MIB / piece.len()) {
            send.send(Ok(piece.clone())).await.unwrap();
        }
    };
    let stored_a_part =
        events.until(|e| e.json()["bytes_received"].as_u64().is_some_and(|n| n > 6 * MIB as u64));
    tokio::select! {
        _ = sent_enough => panic!("900 MiB went before any progress"),
        _ = within("more than a part to be stored", stored_a_part) => {}
    }
    assert_eq!(bucket.multipart_uploads().await.len(), 1, "the upload is going up in parts");

    send.send(Err(std::io::Error::other("the connection breaks"))).await.unwrap();
    assert!(request.await.unwrap().is_err(), "the request was cut");
    let failed = within("the upload to fail", events.until(|e| e.name() == "error")).await;
    assert_eq!(failed.last().unwrap().json()["code"], "upload_aborted");
    let left = bucket.multipart_uploads().await;
    assert!(left.is_empty(), "no multipart upload left behind: {left:?}");
    assert_eq!(bucket.keys().await, Vec::<String>::new(), "and no object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_node_died_is_aborted_by_the_next_start() {
    let bucket = testkit::s3::fresh_bucket().await;
    let store = common::s3_store(&bucket, "node").await;
    let id = shared::UploadId::parse("0191c1d2-6b0e-7a3c-9f00-00000000dead").unwrap();
    // Written twice (a job run again after its node died), and each time the node dies:
    // the writer neither commits, nor aborts, nor is dropped.
    for _ in 0..2 {
        let mut writer = store.create(&uplink::store::BlobKey::Text(id.clone())).await.unwrap();
        writer.write(&vec![1u8; 6 * MIB]).await.unwrap();
        std::mem::forget(writer);
    }
    assert_eq!(bucket.multipart_uploads().await.len(), 2);

    // A node starting sweeps the bytes of uploads that do not exist, this one's included.
    let _server = server_on(&bucket).await;
    let left = bucket.multipart_uploads().await;
    assert!(left.is_empty(), "no multipart upload left behind: {left:?}");
    assert_eq!(bucket.keys().await, Vec::<String>::new(), "and no object");
}

/// A download of `url`, whose whole is `data`, by byte ranges.
async fn assert_ranges(client: &reqwest::Client, url: &str, data: &[u8]) {
    let len = data.len();
    let get = |range: String| client.get(url).header(reqwest::header::RANGE, range).send();
    for (range, first, last) in [
        (format!("bytes={}-", len / 2 + 3), len / 2 + 3, len - 1),
        (format!("bytes=5-{}", len + 100), 5, len - 1),
        ("bytes=-10".to_owned(), len - 10, len - 1),
        ("bytes=1-1".to_owned(), 1, 1),
    ] {
        let part = get(range.clone()).await.unwrap();
        assert_eq!(part.status(), 206, "{range}");
        let content_range = format!("bytes {first}-{last}/{len}");
        assert_eq!(part.headers()[reqwest::header::CONTENT_RANGE], content_range.as_str());
        assert!(part.bytes().await.unwrap() == data[first..=last], "{range}: the bytes");
    }
    let past = get(format!("bytes={len}-")).await.unwrap();
    let past_etag = client.head(url).send().await.unwrap().headers()[reqwest::header::ETAG].clone();
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(data));
    assert_eq!(past_etag.to_str().unwrap(), format!("\"{sha}\""), "the file's SHA-256 as its ETag");
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()[reqwest::header::CONTENT_RANGE], format!("bytes */{len}").as_str());
    let past: serde_json::Value = past.json().await.unwrap();
    assert_eq!(past["code"], "range_not_satisfiable");
    // Resuming names the version it has: the same one gets its range, another the whole.
    let etag = past_etag.clone();
    let resumed = client
        .get(url)
        .header(reqwest::header::RANGE, "bytes=3-")
        .header(reqwest::header::IF_RANGE, &etag);
    let resumed = resumed.send().await.unwrap();
    assert_eq!(resumed.status(), 206, "If-Range of this version");
    let other = client
        .get(url)
        .header(reqwest::header::RANGE, "bytes=3-")
        .header(reqwest::header::IF_RANGE, "\"other\"");
    assert_eq!(other.send().await.unwrap().status(), 200, "If-Range of another version");
    let whole = get("bytes=0-1,5-6".to_owned()).await.unwrap();
    assert_eq!(whole.status(), 200, "several ranges: the whole file");
    assert_eq!(whole.headers()[reqwest::header::ACCEPT_RANGES], "bytes");
    assert!(whole.bytes().await.unwrap() == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_is_read_by_byte_ranges_from_either_store() {
    let bucket = testkit::s3::fresh_bucket().await;
    let data: Vec<u8> = (0..11 * MIB + 7).map(|i| (i * 29 % 251) as u8).collect();
    for server in [TestServer::start().await, server_on(&bucket).await] {
        let created = post_file(&server.client, &server.base(), "big.bin", &data).await;
        let url = server.url(&format!("/api/uploads/{}/file", created["id"].as_str().unwrap()));
        assert_ranges(&server.client, &url, &data).await;
    }
}
