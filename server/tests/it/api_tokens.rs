//! Personal API tokens through a real server: made with a session and shown once, listed
//! without secrets, good on the API without a cookie, unable to make more, another
//! account's invisible, and revoked at once, ending the streams they opened.

use crate::common;

use common::{multipart, Account, SseReader, TestServer};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn a_program_with_an_api_token_needs_no_cookie_until_the_token_is_revoked() {
    let server = TestServer::start().await;
    let user = &server.user;
    let tokens = server.url("/api/auth/tokens");

    let made = user.client.post(&tokens).json(&json!({ "name": "nightly backup" })).send().await;
    let made = made.unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    let (id, secret) = (made["id"].as_str().unwrap(), made["token"].as_str().unwrap());
    assert_eq!(made["name"], "nightly backup");
    assert!(secret.starts_with("uplink_") && secret.len() > 60, "{secret}");
    assert!(made["created_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{made}");

    // Listed without its secret: the secret was shown once.
    let listed = user.client.get(&tokens).send().await.unwrap().text().await.unwrap();
    assert!(!listed.contains(secret), "{listed}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(
        listed,
        json!([{ "id": id, "name": "nightly backup", "created_at": made["created_at"] }])
    );

    // A program without cookies: the API as the account, uploads and streams included.
    let program = reqwest::Client::new();
    let bearer = format!("Bearer {secret}");
    let events = program.get(server.url("/api/events")).header(header::AUTHORIZATION, &bearer);
    let mut events = SseReader::started(events.send().await.unwrap()).await;
    let (content_type, body) = multipart("file", "from-a-script.txt", b"no cookie needed");
    let uploaded = program
        .post(server.url("/api/uploads"))
        .header(header::AUTHORIZATION, &bearer)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::ACCEPTED);
    let done = events.until(|e| e.name() == "done").await;
    assert_eq!(done.last().unwrap().name(), "done");
    let mine = user.client.get(server.url("/api/uploads")).send().await.unwrap();
    let mine: Value = mine.json().await.unwrap();
    assert_eq!(mine[0]["filename"], "from-a-script.txt", "the account's own upload");

    // A token cannot make another.
    let more = program.post(&tokens).header(header::AUTHORIZATION, &bearer);
    let more = more.json(&json!({ "name": "sneaky" })).send().await.unwrap();
    assert_eq!(more.status(), StatusCode::FORBIDDEN);
    assert_eq!(more.json::<Value>().await.unwrap()["code"], "session_required");

    // Another account neither sees nor revokes it.
    let bob = Account::register(&server.url(""), "bob").await;
    let theirs = bob.client.get(&tokens).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(theirs, json!([]));
    let revoked = bob.client.delete(format!("{tokens}/{id}")).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NOT_FOUND);

    // Revoked by its owner: at once, its stream ends and it opens nothing more.
    let revoked = user.client.delete(format!("{tokens}/{id}")).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    // Bounded only so that a stream that never ends fails here rather than hanging.
    let ended = async { while events.next().await.is_some() {} };
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), ended).await;
    assert!(ended.is_ok(), "the revoked token's stream ended");
    let refused = program.get(server.url("/api/uploads")).header(header::AUTHORIZATION, &bearer);
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "unauthenticated");
    assert_eq!(
        user.client.get(&tokens).send().await.unwrap().json::<Value>().await.unwrap(),
        json!([])
    );
}

#[tokio::test]
async fn a_token_needs_a_name_a_person_can_read() {
    let server = TestServer::start().await;
    let tokens = server.url("/api/auth/tokens");
    for name in [json!(""), json!(" padded"), json!("x".repeat(65)), json!("tab\there")] {
        let answer = server.user.client.post(&tokens).json(&json!({ "name": name })).send().await;
        let answer = answer.unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(answer.json::<Value>().await.unwrap()["code"], "invalid_request", "{name}");
    }
    let nameless = server.user.client.post(&tokens).json(&json!({})).send().await.unwrap();
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST);
    let anonymous = reqwest::Client::new().post(&tokens).json(&json!({ "name": "x" })).send();
    assert_eq!(anonymous.await.unwrap().status(), StatusCode::UNAUTHORIZED);
}
