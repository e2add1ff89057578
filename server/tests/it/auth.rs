//! Accounts and sessions through a real listener: register, log in, log out, who am I;
//! the same answer for an unknown user and a wrong password; rate limits; and
//! cross-site writes refused even with a valid cookie.

use crate::common;

use common::{browser, session_cookie, TestServer};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

async fn post(client: &Client, server: &TestServer, path: &str, body: Value) -> reqwest::Response {
    client.post(server.url(path)).json(&body).send().await.unwrap()
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn register_then_me_then_logout() {
    let server = TestServer::start().await;
    let ada = browser();
    let registered = post(
        &ada,
        &server,
        "/api/auth/register",
        json!({"username": "ada", "password": "analytical"}),
    )
    .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let cookie = registered.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    let token = session_cookie(&registered);
    assert!(cookie.starts_with("uplink_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "no Secure on plain http");
    let user: Value = registered.json().await.unwrap();
    assert_eq!(user["username"], "ada");

    let me: Value = ada.get(server.url("/api/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me, user);

    // Usernames are one account whatever their letter case.
    let taken = post(
        &browser(),
        &server,
        "/api/auth/register",
        json!({"username": "ADA", "password": "different1"}),
    )
    .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(taken).await, "username_taken");

    let out = post(&ada, &server, "/api/auth/logout", json!({})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let me = ada.get(server.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(me).await, "unauthenticated");

    // The old token is dead on the server, not just forgotten by this client.
    let replayed = Client::new()
        .get(server.url("/api/auth/me"))
        .header(header::COOKIE, token)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_credentials_get_one_answer_and_login_rotates_the_session() {
    let server = TestServer::start().await;
    let first = post(
        &Client::new(),
        &server,
        "/api/auth/register",
        json!({"username": "grace", "password": "cobol-1959"}),
    )
    .await;
    let first_token = session_cookie(&first);

    let wrong = post(
        &Client::new(),
        &server,
        "/api/auth/login",
        json!({"username": "grace", "password": "fortran-57"}),
    )
    .await;
    let unknown = post(
        &Client::new(),
        &server,
        "/api/auth/login",
        json!({"username": "nobody", "password": "fortran-57"}),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let (wrong, unknown): (Value, Value) =
        (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(wrong, unknown, "nothing tells an unknown user from a wrong password");
    assert_eq!(wrong["code"], "invalid_credentials");

    // Logging in with a session cookie already set: a new token, and the old one ends.
    let login = Client::new()
        .post(server.url("/api/auth/login"))
        .header(header::COOKIE, &first_token)
        .json(&json!({"username": "Grace", "password": "cobol-1959"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let new_token = session_cookie(&login);
    assert_ne!(new_token, first_token);
    let me = |token: String| {
        let url = server.url("/api/auth/me");
        async move {
            Client::new().get(url).header(header::COOKIE, token).send().await.unwrap().status()
        }
    };
    assert_eq!(me(new_token).await, StatusCode::OK);
    assert_eq!(me(first_token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_even_for_the_right_password() {
    let server = TestServer::start().await;
    post(
        &Client::new(),
        &server,
        "/api/auth/register",
        json!({"username": "mallory", "password": "right-password"}),
    )
    .await;
    for _ in 0..5 {
        let wrong = post(
            &Client::new(),
            &server,
            "/api/auth/login",
            json!({"username": "mallory", "password": "wrong-password"}),
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = post(
        &Client::new(),
        &server,
        "/api/auth/login",
        json!({"username": "MALLORY", "password": "right-password"}),
    )
    .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait));
    assert_eq!(error_code(limited).await, "rate_limited");
}

#[tokio::test]
async fn invalid_registrations_get_a_clear_400() {
    let server = TestServer::start().await;
    let cases = [
        json!({"username": "ab", "password": "long enough"}),
        json!({"username": "has space", "password": "long enough"}),
        json!({"username": "../etc", "password": "long enough"}),
        json!({"username": "fine", "password": "short"}),
        json!({"username": "fine"}),
        json!("not an object"),
    ];
    for body in cases {
        let response = post(&Client::new(), &server, "/api/auth/register", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(response).await, "invalid_request", "{body}");
    }
    let not_json =
        Client::new().post(server.url("/api/auth/login")).body("username=a").send().await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cross_site_writes_are_refused_even_with_a_valid_cookie() {
    let server = TestServer::start().await;
    let victim = browser();
    post(
        &victim,
        &server,
        "/api/auth/register",
        json!({"username": "victim", "password": "hunter2hunter2"}),
    )
    .await;

    let forged = [
        [("origin", "http://evil.test"), ("x-none", "")],
        [("sec-fetch-site", "cross-site"), ("x-none", "")],
        [("sec-fetch-site", "same-site"), ("origin", "http://sub.evil.test")],
    ];
    for headers in forged {
        let mut request = victim.post(server.url("/api/auth/logout"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert_eq!(error_code(refused).await, "cross_site");
    }
    // Still logged in: none of them did anything.
    let me = victim.get(server.url("/api/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Our own pages (same origin) may.
    let own = victim
        .post(server.url("/api/auth/logout"))
        .header("origin", server.base())
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
}
