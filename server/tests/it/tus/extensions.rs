//! termination, checksum and expiration.

use super::*;

#[tokio::test]
async fn termination_cancels_the_upload_and_its_bytes_go() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let location = create(client, &server, 1000).await;
    assert_eq!(
        patch(client, &server, &location, 0, &bytes(400)).await.status(),
        StatusCode::NO_CONTENT
    );
    let deleted = client.delete(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let id = id_of(&location);
    let upload: Value = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["status"], "cancelled");
    let after = patch(client, &server, &location, 400, &bytes(600)).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND, "a terminated upload is gone");
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_checksummed_patch_counts_only_if_its_bytes_match() {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let server = TestServer::start().await;
    let client = &server.user.client;
    let data = bytes(3000);
    let location = create(client, &server, data.len()).await;
    let checked = |offset: usize, body: &[u8], checksum: String| {
        client
            .patch(server.url(&location))
            .header(TUS.0, TUS.1)
            .header("upload-offset", offset.to_string())
            .header(header::CONTENT_TYPE, OFFSET_STREAM)
            .header("upload-checksum", checksum)
            .body(body.to_vec())
            .send()
    };
    let sha1 = |bytes: &[u8]| STANDARD.encode(<sha1::Sha1 as Digest>::digest(bytes));
    let md5 = |bytes: &[u8]| STANDARD.encode(<md5::Md5 as Digest>::digest(bytes));

    let good = checked(0, &data[..1000], format!("sha1 {}", sha1(&data[..1000]))).await.unwrap();
    assert_eq!(good.status(), StatusCode::NO_CONTENT);
    // The digest of other bytes: 460, and the chunk is gone.
    let bad = checked(1000, &data[1000..2000], format!("md5 {}", md5(b"other"))).await.unwrap();
    assert_eq!(bad.status().as_u16(), 460);
    assert_eq!(bad.json::<Value>().await.unwrap()["code"], "checksum_mismatch");
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("1000"));
    // An algorithm the server does not compute: 400.
    let unknown = checked(1000, &data[1000..2000], "crc32 AAAAAA==".into()).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let sha256 = STANDARD.encode(Sha256::digest(&data[1000..]));
    let rest = checked(1000, &data[1000..], format!("sha256 {sha256}")).await.unwrap();
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&rest, "upload-offset").as_deref(), Some("3000"));
    let options = client.request(Method::OPTIONS, server.url("/api/tus")).send().await.unwrap();
    assert_eq!(text(&options, "tus-checksum-algorithm").as_deref(), Some("sha1,sha256,md5"));
}

#[tokio::test]
async fn an_upload_left_unfinished_past_its_expiry_answers_404_and_is_removed() {
    // Expired as soon as it is made, so nothing waits on the clock.
    let server = TestServer::start_with(|c| c.tus_expiry = std::time::Duration::ZERO).await;
    let client = &server.user.client;
    let location = create(client, &server, 1000).await;
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(text(&head, "upload-offset"), None);
    let removed = uplink::uploads::resumable::remove_expired(&server.state.uploads).await.unwrap();
    assert_eq!(removed, 1);
    let listed = common::get_json(client, server.url("/api/uploads")).await;
    assert_eq!(listed, serde_json::json!([]), "gone, bytes and all");
}
