//! termination, checksum (in the headers or as a trailer) and expiration.

use super::*;
use base64::{engine::general_purpose::STANDARD, Engine};

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

/// A chunked PATCH of `data` in two chunks whose `Upload-Checksum` comes as a trailer
/// (`None`: announced, never sent); the answer's status and the offset HEAD reports
/// after.
async fn patch_with_trailer(
    server: &TestServer,
    location: &str,
    data: &[u8],
    trailer: Option<String>,
) -> (u16, String) {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (a, b) = data.split_at(data.len() / 2);
    let mut request = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: {OFFSET_STREAM}\r\nTransfer-Encoding: chunked\r\n\
         Trailer: Upload-Checksum\r\nConnection: close\r\n\r\n",
        server.addr, server.user.cookie,
    )
    .into_bytes();
    for chunk in [a, b] {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n");
    if let Some(trailer) = trailer {
        request.extend(format!("Upload-Checksum: {trailer}\r\n").as_bytes());
    }
    request.extend(b"\r\n");
    socket.write_all(&request).await.unwrap();
    let answer = common::raw::read_until_closed(&mut socket).await;
    let (status, _) = common::raw::status_and_json(&answer);
    let head =
        server.user.client.head(server.url(location)).header(TUS.0, TUS.1).send().await.unwrap();
    (status, text(&head, "upload-offset").unwrap())
}

#[tokio::test]
async fn a_checksum_sent_as_a_trailer_counts_like_one_sent_first() {
    let server = TestServer::start().await;
    let data = bytes(200_000);
    let digest = |algorithm: &str| match algorithm {
        "sha256" => STANDARD.encode(Sha256::digest(&data)),
        _ => STANDARD.encode(<md5::Md5 as Digest>::digest(&data)),
    };
    let location = create(&server.user.client, &server, data.len()).await;
    // Wrong, or announced and never sent: discarded.
    let wrong = format!("md5 {}", digest("sha256").get(..24).unwrap());
    assert_eq!(patch_with_trailer(&server, &location, &data, Some(wrong)).await, (460, "0".into()));
    assert_eq!(patch_with_trailer(&server, &location, &data, None).await, (400, "0".into()));
    // Any of the algorithms, told after the bytes.
    let right = format!("md5 {}", digest("md5"));
    assert_eq!(
        patch_with_trailer(&server, &location, &data, Some(right)).await,
        (204, "200000".into())
    );
    assert_stored(&server.user.client, &server, &id_of(&location), &data).await;
}
