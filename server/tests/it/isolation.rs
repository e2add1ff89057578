//! Two accounts on one real server: neither can see, stream, download or delete the
//! other's uploads on any route; nothing but the auth routes, `/healthz` and a valid
//! events token works without a session; and a session's streams end at its logout.

use crate::common;

use std::collections::BTreeSet;

use common::{named, post_file, read_sse, Account, Sse, TestServer};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use testkit::pdf as fixtures;

/// Waits for an upload of `account`'s to finish, through its own event stream.
async fn finished(server: &TestServer, account: &Client, id: &str) -> Vec<Sse> {
    let response =
        account.get(server.url(&format!("/api/uploads/{id}/events"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    read_sse(response, |_| false).await
}

async fn code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    (status, body["code"].as_str().unwrap().to_owned())
}

fn upload_ids(events: &[Sse]) -> BTreeSet<String> {
    named(events).iter().map(|e| e.json()["upload_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_uploads_are_not_found_on_every_route() {
    let server = TestServer::start().await;
    let alice = &server.client;
    let bob = Account::register(&server.base(), "bob").await;
    // Bob's stream is open before anything of Alice's exists, so live events are tested
    // as well as the snapshot and the replay.
    let bob_live = bob.client.get(server.url("/api/events")).send().await.unwrap();

    let text = post_file(alice, &server.base(), "alice.txt", b"alice's secret").await;
    let pdf = post_file(alice, &server.base(), "alice.pdf", &fixtures::pdf(3)).await;
    let alice_ids: Vec<String> =
        [&text, &pdf].iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    for id in &alice_ids {
        finished(&server, alice, id).await;
    }
    let bobs = post_file(&bob.client, &server.base(), "bob.txt", b"bob's").await;
    let bob_id = bobs["id"].as_str().unwrap().to_owned();
    finished(&server, &bob.client, &bob_id).await;

    // Every per-upload route: Bob gets exactly what a nonexistent upload gets.
    let nobody = "0191c1d2-6b0e-7a3c-9f00-00000000dead";
    for id in alice_ids.iter().map(String::as_str).chain([nobody]) {
        for (method, path) in [
            (Method::GET, format!("/api/uploads/{id}")),
            (Method::GET, format!("/api/uploads/{id}/file")),
            (Method::GET, format!("/api/uploads/{id}/text")),
            (Method::GET, format!("/api/uploads/{id}/events")),
            (Method::GET, format!("/api/uploads/{id}/events?last_event_id=0")),
            (Method::POST, format!("/api/uploads/{id}/token")),
            (Method::DELETE, format!("/api/uploads/{id}")),
        ] {
            let response =
                bob.client.request(method.clone(), server.url(&path)).send().await.unwrap();
            assert_eq!(
                code(response).await,
                (StatusCode::NOT_FOUND, "not_found".into()),
                "{method} {path}"
            );
        }
    }
    // The attempted deletes changed nothing.
    for id in &alice_ids {
        let upload = common::get_json(alice, server.url(&format!("/api/uploads/{id}"))).await;
        assert_eq!(upload["status"], "done");
    }
    let file = alice.get(server.url(&format!("/api/uploads/{}/file", alice_ids[0]))).send().await;
    assert_eq!(file.unwrap().bytes().await.unwrap(), &b"alice's secret"[..]);

    // Lists: each sees exactly their own.
    let list = |client: &Client| {
        let request = client.get(server.url("/api/uploads")).send();
        async move {
            let uploads: Vec<Value> = request.await.unwrap().json().await.unwrap();
            uploads.iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect::<BTreeSet<_>>()
        }
    };
    assert_eq!(list(alice).await, alice_ids.iter().cloned().collect());
    assert_eq!(list(&bob.client).await, BTreeSet::from([bob_id.clone()]));

    // `/api/events`: live, snapshot and full replay each carry Bob's upload alone.
    let only_bobs = BTreeSet::from([bob_id.clone()]);
    let live = read_sse(bob_live, |e| e.name() == "done").await;
    assert_eq!(upload_ids(&live), only_bobs, "live");
    for path in ["/api/events", "/api/events?last_event_id=0"] {
        let stream = bob.client.get(server.url(path)).send().await.unwrap();
        // Everything retained of Bob's comes before his `done`, his newest event.
        let events = read_sse(stream, |e| e.name() == "done").await;
        assert_eq!(upload_ids(&events), only_bobs, "{path}");
    }
    // And a replay from an id in the middle of Alice's history skips all of it.
    let alice_events = finished(&server, alice, &alice_ids[1]).await;
    let midway = named(&alice_events)[0].id.unwrap() - 1;
    let replay = bob
        .client
        .get(server.url(&format!("/api/events?last_event_id={midway}")))
        .send()
        .await
        .unwrap();
    let replay = read_sse(replay, |e| e.name() == "done").await;
    assert_eq!(upload_ids(&replay), only_bobs, "replay from the middle");
}

#[tokio::test]
async fn without_a_session_only_auth_health_and_tokens_answer() {
    let server = TestServer::start().await;
    let upload = post_file(&server.client, &server.base(), "a.txt", b"a").await;
    let id = upload["id"].as_str().unwrap();
    let anonymous = Client::new();
    let (content_type, body) = common::multipart("file", "x.txt", b"x");
    for (method, path) in [
        (Method::GET, "/api/uploads".to_owned()),
        (Method::POST, "/api/uploads".to_owned()),
        (Method::GET, "/api/events".to_owned()),
        (Method::GET, format!("/api/uploads/{id}")),
        (Method::DELETE, format!("/api/uploads/{id}")),
        (Method::GET, format!("/api/uploads/{id}/file")),
        (Method::GET, format!("/api/uploads/{id}/text")),
        (Method::GET, format!("/api/uploads/{id}/events")),
        (Method::POST, format!("/api/uploads/{id}/token")),
        (Method::GET, "/api/auth/me".to_owned()),
        (Method::POST, "/rpc/dashboard".to_owned()),
    ] {
        let response = anonymous
            .request(method.clone(), server.url(&path))
            .header(reqwest::header::CONTENT_TYPE, &content_type)
            .header(reqwest::header::COOKIE, "uplink_session=forged")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            code(response).await,
            (StatusCode::UNAUTHORIZED, "unauthenticated".into()),
            "{method} {path}"
        );
    }
    assert_eq!(anonymous.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(server.state.repo.list(&server.user.id).await.unwrap().len(), 1, "nothing added");

    // Pages send visitors to the login page, and the logged-in away from it.
    let no_redirects =
        Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let dashboard = no_redirects.get(server.url("/")).send().await.unwrap();
    assert!(dashboard.status().is_redirection());
    assert_eq!(dashboard.headers()["location"], "/login");
    assert_eq!(no_redirects.get(server.url("/login")).send().await.unwrap().status(), 200);
    let login = no_redirects
        .get(server.url("/login"))
        .header(reqwest::header::COOKIE, &server.user.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()["location"], "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_token_opens_its_uploads_events_and_nothing_else() {
    let server = TestServer::start().await;
    let alice = &server.client;
    let first = post_file(alice, &server.base(), "first.pdf", &fixtures::pdf(2)).await;
    let second = post_file(alice, &server.base(), "second.txt", b"2").await;
    let (first, second) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());

    let issued = common::events_token(alice, &server.base(), first).await;
    let token = issued["token"].as_str().unwrap();
    assert!(issued["expires_at"].as_str().is_some());
    assert_eq!(
        issued["events_url"].as_str().unwrap(),
        format!("/api/uploads/{first}/events?token={token}")
    );

    // A client with no cookie at all follows the upload to its end.
    let anonymous = Client::new();
    let stream = anonymous.get(server.url(issued["events_url"].as_str().unwrap())).send().await;
    let events = read_sse(stream.unwrap(), |_| false).await;
    assert_eq!(named(&events).last().unwrap().name(), "done");
    assert_eq!(upload_ids(&events), BTreeSet::from([first.to_owned()]));

    // Anywhere else, the token is worth nothing.
    let refused = [
        (format!("/api/uploads/{second}/events?token={token}"), "invalid_token"),
        (format!("/api/events?token={token}"), "unauthenticated"),
        (format!("/api/uploads/{first}?token={token}"), "unauthenticated"),
        (format!("/api/uploads/{first}/file?token={token}"), "unauthenticated"),
        (format!("/api/uploads/{first}/text?token={token}"), "unauthenticated"),
        (format!("/api/uploads?token={token}"), "unauthenticated"),
    ];
    for (path, expected) in refused {
        let response = anonymous.get(server.url(&path)).send().await.unwrap();
        assert_eq!(code(response).await, (StatusCode::UNAUTHORIZED, expected.into()), "{path}");
    }
    let delete = anonymous.delete(server.url(&format!("/api/uploads/{first}?token={token}")));
    assert_eq!(delete.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Expired, tampered and garbage tokens.
    let id = shared::UploadId::parse(first).unwrap();
    let expired = server.state.token_key.issue(&id, uplink::auth::token::unix_now() - 1);
    let (expiry, tag) = token.split_once('.').unwrap();
    let stretched = format!("{}.{tag}", expiry.parse::<u64>().unwrap() + 3600);
    for bad in [expired.as_str(), &stretched, "", "garbage", "1.00"] {
        let path = format!("/api/uploads/{first}/events?token={bad}");
        let response = anonymous.get(server.url(&path)).send().await.unwrap();
        assert_eq!(
            code(response).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into()),
            "{bad:?}"
        );
    }
    // A valid-looking token for an upload that does not exist learns nothing either.
    let nobody = shared::UploadId::parse("0191c1d2-6b0e-7a3c-9f00-00000000dead").unwrap();
    let forged = format!("{}.{tag}", expiry);
    let path = format!("/api/uploads/{nobody}/events?token={forged}");
    let response = anonymous.get(server.url(&path)).send().await.unwrap();
    assert_eq!(code(response).await, (StatusCode::UNAUTHORIZED, "invalid_token".into()));
}

#[tokio::test]
async fn logging_out_ends_the_sessions_streams_and_only_those() {
    let server = TestServer::start().await;
    let other = Account::register(&server.base(), "bob").await;
    let mut ending =
        common::SseReader::new(server.client.get(server.url("/api/events")).send().await.unwrap());
    let mut staying =
        common::SseReader::new(other.client.get(server.url("/api/events")).send().await.unwrap());
    // Both streams are open (their `retry:` arrived) before the logout.
    ending.next().await.unwrap();
    staying.next().await.unwrap();

    let logout = server.client.post(server.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    while ending.next().await.is_some() {}

    // Bob's stream is still live: his next upload arrives on it.
    post_file(&other.client, &server.base(), "b.txt", b"b").await;
    let rest = staying.until(|e| e.name() == "done").await;
    assert_eq!(named(&rest).last().unwrap().name(), "done");
}
