//! Accounts under attack, on a real listener: parallel password guesses, registrations
//! by the thousand, a flood of hashing work, and clients behind a proxy.

use crate::common;

use common::{raw::client_from, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post(
    client: &reqwest::Client,
    url: String,
    body: Value,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = client.post(url).json(&body);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

async fn register(
    server: &TestServer,
    client: &reqwest::Client,
    name: &str,
    via: Option<&str>,
) -> StatusCode {
    let credentials = json!({"username": name, "password": "correct horse"});
    post(client, server.url("/api/auth/register"), credentials, via).await.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_wrong_guesses_get_at_most_five_checked() {
    let server = TestServer::start().await;
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            let url = server.url("/api/auth/login");
            tokio::spawn(async move {
                let guess = json!({"username": "alice", "password": format!("wrong guess {i}")});
                let answer = post(&reqwest::Client::new(), url, guess, None).await;
                let status = answer.status();
                let retry_after = answer.headers().get("retry-after").is_some();
                let body: Value = answer.json().await.unwrap();
                (status, retry_after, body["code"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            (StatusCode::UNAUTHORIZED, _, code) => {
                assert_eq!(code, "invalid_credentials");
                checked += 1;
            }
            (StatusCode::TOO_MANY_REQUESTS, retry_after, code) => {
                assert_eq!(code, "rate_limited");
                assert!(retry_after);
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(checked, 5, "exactly the allowed five guesses had their password checked");
    // The account is locked for the window, even with its right password.
    let right = json!({"username": "alice", "password": "correct horse"});
    let answer = post(&reqwest::Client::new(), server.url("/api/auth/login"), right, None).await;
    assert_eq!(answer.status(), 429);
}

#[tokio::test]
async fn login_input_is_validated_before_any_hash() {
    let server = TestServer::start().await;
    for (username, password) in
        [("a", "long enough"), ("alice", "short"), ("alice", &*"p".repeat(2000))]
    {
        let attempt = json!({"username": username, "password": password});
        let answer =
            post(&reqwest::Client::new(), server.url("/api/auth/login"), attempt, None).await;
        assert_eq!(answer.status(), 400, "{username}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["code"], "invalid_request");
    }
}

#[tokio::test]
async fn registrations_are_limited_per_client_address() {
    let server = TestServer::start_with(|c| c.registrations_per_hour = 3).await;
    // `alice` came from 127.0.0.1 when the server started: two more fit.
    let local = client_from(1);
    assert_eq!(register(&server, &local, "bob", None).await, 201);
    assert_eq!(register(&server, &local, "carol", None).await, 201);
    let refused = post(
        &local,
        server.url("/api/auth/register"),
        json!({"username": "dave", "password": "correct horse"}),
        None,
    )
    .await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "rate_limited");
    // Another address has its own allowance; a header it sends changes nothing.
    let other = client_from(2);
    for name in ["erin", "frank", "grace"] {
        assert_eq!(register(&server, &other, name, Some("203.0.113.50")).await, 201, "{name}");
    }
    assert_eq!(register(&server, &other, "heidi", Some("203.0.113.51")).await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_answers_503_with_retry_after() {
    let server = TestServer::start_with(|c| c.password_queue = 1).await;
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let url = server.url("/api/auth/register");
            tokio::spawn(async move {
                let body = json!({"username": format!("user{i}"), "password": "correct horse"});
                let answer = post(&client_from(2 + i as u8), url, body, None).await;
                let retry_after = answer.headers().get("retry-after").cloned();
                let status = answer.status();
                (status, retry_after, answer.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let (mut created, mut busy) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            (StatusCode::CREATED, _, _) => created += 1,
            (StatusCode::SERVICE_UNAVAILABLE, retry_after, body) => {
                assert_eq!(body["code"], "unavailable", "{body}");
                assert_eq!(retry_after.unwrap(), "1");
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(created >= 1 && busy >= 1, "{created} created, {busy} turned away");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limits() {
    let server = TestServer::start_with(|c| {
        c.registrations_per_hour = 2;
        c.max_connections_per_client = 2;
        c.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    let proxy = client_from(1);
    // Registrations: counted per forwarded client, not for the proxy.
    for name in ["ann", "ben"] {
        assert_eq!(register(&server, &proxy, name, Some("198.51.100.7")).await, 201);
    }
    assert_eq!(register(&server, &proxy, "cat", Some("198.51.100.7")).await, 429);
    assert_eq!(register(&server, &proxy, "cat", Some("6.6.6.6, 198.51.100.8")).await, 201);
    // Requests in progress: a forwarded client holds at most two (here, event streams).
    let stream = |client: &'static str| {
        let request = server.client.get(server.url("/api/events"));
        request.header("x-forwarded-for", client).send()
    };
    let first = stream("198.51.100.9").await.unwrap();
    let second = stream("198.51.100.9").await.unwrap();
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = stream("198.51.100.9").await.unwrap();
    assert_eq!(third.status(), 503);
    assert_eq!(third.json::<Value>().await.unwrap()["code"], "unavailable");
    assert_eq!(stream("198.51.100.10").await.unwrap().status(), 200, "another client is served");
}
