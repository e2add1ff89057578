//! concatenation: partial uploads that nobody sees, a final upload made of them that is
//! processed like any other, refusals for finals that cannot be made, and another
//! account finding nothing of them.

use super::*;

/// Creates a partial upload of `length` bytes; its Location.
async fn partial(client: &reqwest::Client, server: &TestServer, length: usize) -> String {
    let created = client
        .post(server.url("/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-concat", "partial")
        .header("upload-length", length.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(text(&created, "upload-concat").as_deref(), Some("partial"));
    text(&created, "location").unwrap()
}

/// Asks for the final upload of `concat` (`final;…`).
async fn make_final(
    client: &reqwest::Client,
    server: &TestServer,
    concat: &str,
) -> reqwest::Response {
    let request = client.post(server.url("/api/tus")).header(TUS.0, TUS.1);
    let request = request.header("upload-concat", concat);
    // "joined.txt"
    request.header("upload-metadata", "filename am9pbmVkLnR4dA==").send().await.unwrap()
}

#[tokio::test]
async fn a_final_upload_is_its_partials_in_order_and_only_it_is_seen() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let mut events = common::account_events(&server).await;
    let data = bytes(3_000_000);
    let (a, b) =
        (partial(client, &server, 1_000_000).await, partial(client, &server, 2_000_000).await);
    // Sent out of order, the second in two requests.
    assert_eq!(patch(client, &server, &b, 0, &data[1_000_000..1_500_000]).await.status(), 204);
    assert_eq!(patch(client, &server, &b, 500_000, &data[1_500_000..]).await.status(), 204);
    assert_eq!(patch(client, &server, &a, 0, &data[..1_000_000]).await.status(), 204);
    let head = client.head(server.url(&a)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("1000000"));
    assert_eq!(text(&head, "upload-concat").as_deref(), Some("partial"));
    let listed: Value =
        client.get(server.url("/api/uploads")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 0, "partials are on nobody's dashboard");

    // Named by absolute URL and by path, as clients do.
    let concat = format!("final;{} {b}", server.url(&a));
    let made = make_final(client, &server, &concat).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let location = text(&made, "location").unwrap();
    let id = id_of(&location);
    let head = client.head(server.url(&location)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(text(&head, "upload-concat"), Some(concat));
    assert_eq!(text(&head, "upload-offset").as_deref(), Some("3000000"));
    assert_eq!(text(&head, "upload-length").as_deref(), Some("3000000"));

    let done = until_done(&mut events, &id).await;
    let others = done.iter().filter(|e| e.json()["upload_id"].as_str().is_some_and(|u| u != id));
    assert_eq!(others.count(), 0, "only the final upload is announced");
    assert_stored(client, &server, &id, &data).await;
    let upload = common::get_json(client, server.url(&format!("/api/uploads/{id}"))).await;
    assert_eq!(upload["filename"], "joined.txt");

    // Its bytes are its partials', who are gone; it takes none of its own.
    let more = patch(client, &server, &location, 3_000_000, b"x").await;
    assert_eq!(more.status(), StatusCode::FORBIDDEN);
    assert_eq!(more.json::<Value>().await.unwrap()["code"], "final_upload");
    for part in [&a, &b] {
        let gone = client.head(server.url(part)).header(TUS.0, TUS.1).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_final_upload_of_unfinished_foreign_or_repeated_partials_is_refused() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let bob = Account::register(&server.url(""), "bob").await;
    let (mine, unfinished) = (partial(client, &server, 4).await, partial(client, &server, 4).await);
    assert_eq!(patch(client, &server, &mine, 0, b"abcd").await.status(), 204);
    assert_eq!(patch(client, &server, &unfinished, 0, b"ab").await.status(), 204);
    let theirs = partial(&bob.client, &server, 2).await;
    assert_eq!(patch(&bob.client, &server, &theirs, 0, b"zz").await.status(), 204);
    let whole = create(client, &server, 4).await;
    assert_eq!(patch(client, &server, &whole, 0, b"abcd").await.status(), 204);

    for (concat, status, code) in [
        (format!("final;{mine} {unfinished}"), 400, "invalid_request"),
        (format!("final;{mine} {mine}"), 400, "invalid_request"),
        (format!("final;{mine} {whole}"), 400, "invalid_request"),
        (format!("final;{mine} {theirs}"), 404, "not_found"),
        ("final;/api/uploads/nothing".to_owned(), 400, "invalid_request"),
    ] {
        let refused = make_final(client, &server, &concat).await;
        assert_eq!(refused.status().as_u16(), status, "{concat}");
        assert_eq!(refused.json::<Value>().await.unwrap()["code"], code, "{concat}");
    }
    // Bob cannot see, add to, end or join Alice's partial either.
    let head = bob.client.head(server.url(&mine)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!((head.status(), text(&head, "upload-offset")), (StatusCode::NOT_FOUND, None));
    assert_eq!(patch(&bob.client, &server, &mine, 4, b"").await.status(), 404);
    let end = bob.client.delete(server.url(&mine)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(end.status(), StatusCode::NOT_FOUND);
    let joined = make_final(&bob.client, &server, &format!("final;{theirs} {mine}")).await;
    assert_eq!(joined.status(), StatusCode::NOT_FOUND);

    // Refusals changed nothing: the partials still make a final, and one terminated is gone.
    let ended = client.delete(server.url(&unfinished)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let made = make_final(client, &server, &format!("final;{mine}")).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let gone = client.head(server.url(&unfinished)).header(TUS.0, TUS.1).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}
