//! The core protocol and creation, request by request as the protocol text puts them:
//! capabilities, creation with metadata, HEAD and PATCH with their headers and
//! refusals, bytes with the creation, deferred lengths, the method override, and
//! malformed headers answered with JSON.

use super::*;

#[tokio::test]
async fn an_upload_in_pieces_answers_as_the_protocol_says_and_is_processed_once() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;

    // Capabilities, without Tus-Resumable on the answer.
    let options = client.request(Method::OPTIONS, server.url("/api/tus")).send().await.unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&options, "tus-version").as_deref(), Some("1.0.0"));
    let extensions = text(&options, "tus-extension").unwrap();
    for extension in
        ["creation", "creation-with-upload", "creation-defer-length", "expiration", "termination"]
    {
        assert!(extensions.split(',').any(|e| e == extension), "{extension} in {extensions}");
    }
    assert_eq!(text(&options, "tus-max-size"), Some((1u64 << 30).to_string()));
    assert_eq!(text(&options, "tus-resumable"), None);

    // Another version is refused with the one there is.
    let other =
        client.post(server.url("/api/tus")).header(TUS.0, "0.2.2").header("upload-length", "1");
    let other = other.send().await.unwrap();
    assert_eq!(other.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(text(&other, "tus-version").as_deref(), Some("1.0.0"));

    let data = bytes(300_000);
    let location = create(client, &server, data.len()).await;
    let id = id_of(&location);

    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("0"));
    assert_eq!(text(&head, "upload-length").as_deref(), Some("300000"));
    assert_eq!(text(&head, "cache-control").as_deref(), Some("no-store"));
    assert_eq!(text(&head, "tus-resumable").as_deref(), Some("1.0.0"));
    assert_eq!(
        text(&head, "upload-metadata").as_deref(),
        Some("filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,flag")
    );
    assert!(text(&head, "upload-expires").is_some_and(|at| at.ends_with(" GMT")));

    let first = patch(client, &server, &location, 0, &data[..100_000]).await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&first, "upload-offset").as_deref(), Some("100000"));
    // Not the current offset: 409, nothing written.
    let stale = patch(client, &server, &location, 0, &data[..10]).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    // Not an offset stream: 415.
    let wrong = client.patch(server.url(&location)).header(TUS.0, TUS.1);
    let wrong = wrong.header("upload-offset", "100000").body("x").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Another account: 404, and no offset.
    let bob = Account::register(&server.url(""), "bob").await;
    let theirs = bob.client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(text(&theirs, "upload-offset"), None);

    let last = patch(client, &server, &location, 100_000, &data[100_000..]).await;
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&last, "upload-offset").as_deref(), Some("300000"));

    // Stored, hashed and processed once, named as its metadata said.
    let done = until_done(&mut events, &id).await;
    let received: Vec<u64> = done
        .iter()
        .filter(|e| e.json()["upload_id"] == id.as_str() && e.json()["status"] == "uploading")
        .filter_map(|e| e.json()["bytes_received"].as_u64())
        .collect();
    assert!(
        received.windows(2).all(|w| w[0] <= w[1]) && received.contains(&100_000),
        "{received:?}"
    );
    let validations = done.iter().filter(|e| e.json()["stage"] == "validating").count();
    assert_eq!(validations, 2, "one job: its validating stage begins and ends once");
    let upload = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["filename"], "słońce");
    assert_eq!(upload["size"], 300_000);
    assert_eq!(upload["sha256"], hex::encode(Sha256::digest(&data)));
    assert_eq!((upload["status"].as_str(), upload["attempt"].as_u64()), (Some("done"), Some(1)));
    let again = patch(client, &server, &location, 300_000, b"more").await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "a complete upload takes no more");
}

#[tokio::test]
async fn bytes_with_the_creation_a_deferred_length_and_a_method_override() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;

    // creation-with-upload: the whole file with its creation.
    let data = bytes(500);
    let created = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", "500")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(text(&created, "upload-offset").as_deref(), Some("500"));
    let whole = text(&created, "location").unwrap();
    let whole = id_of(&whole);
    until_done(&mut events, &whole).await;

    // creation-defer-length: the length comes with the bytes, through a POST that
    // overrides its method, as clients that can only POST send it.
    let deferred = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-defer-length", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(deferred.status(), StatusCode::CREATED);
    let location = text(&deferred, "location").unwrap();
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-defer-length").as_deref(), Some("1"));
    assert_eq!(text(&head, "upload-length"), None);
    let sent = client
        .post(server.url(&location))
        .header(TUS.0, TUS.1)
        .header("x-http-method-override", "PATCH")
        .header("upload-offset", "0")
        .header("upload-length", "10")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(b"ten bytes!".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    assert_eq!(text(&sent, "upload-length").as_deref(), Some("10"));
    let id = id_of(&location);
    until_done(&mut events, &id).await;
}

#[tokio::test]
async fn lengths_are_kept_to_and_an_empty_file_is_done_at_once() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;

    // An empty file has all its bytes with its creation.
    let empty = create(client, &server, 0).await;
    let empty = id_of(&empty);
    until_done(&mut events, &empty).await;

    let location = create(client, &server, 100).await;
    // More than the length, announced: refused before a byte is stored.
    let over = patch(client, &server, &location, 0, &bytes(101)).await;
    assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Another length than the one promised: 400.
    let other = client
        .patch(server.url(&location))
        .header(TUS.0, TUS.1)
        .header("upload-offset", "0")
        .header("upload-length", "99")
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(bytes(10))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("0"), "nothing stored");
}

#[tokio::test]
async fn malformed_tus_headers_get_a_json_400() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let post = |headers: &[(&str, &str)]| {
        let mut request = client.post(server.url("/api/tus")).header(TUS.0, TUS.1);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("upload-length", "12"), ("upload-metadata", "filename !!!")][..],
        &[("upload-length", "-1")][..],
        &[][..],
        &[("upload-defer-length", "2")][..],
    ] {
        let refused = post(headers).await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{headers:?}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["code"], "invalid_request", "{headers:?}");
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let location = create(client, &server, 10).await;
    let no_offset = client
        .patch(server.url(&location))
        .header(TUS.0, TUS.1)
        .header(header::CONTENT_TYPE, OFFSET_STREAM)
        .body(bytes(10))
        .send()
        .await
        .unwrap();
    assert_eq!(no_offset.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_offset.json::<Value>().await.unwrap()["code"], "invalid_request");
    let version = client.head(server.url(&location)).send().await.unwrap();
    assert_eq!(version.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(version.headers()["tus-version"], "1.0.0");
}
