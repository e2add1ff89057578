//! `UPLINK_CORS_ORIGINS` through a real server: a listed origin's preflight is answered
//! for the tus headers with credentials, its responses expose the tus headers, and its
//! writes pass the cross-site check; any other origin gets no CORS and its writes stay
//! refused. Without the setting there is no CORS at all.

use crate::common;

use common::{multipart, TestServer};
use reqwest::{header, Method, StatusCode};

const APP: &str = "http://uploader.test:8080";

fn preflight(server: &TestServer, origin: &str) -> reqwest::RequestBuilder {
    server
        .client
        .request(Method::OPTIONS, server.url("/api/uploads"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PATCH")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "upload-offset,tus-resumable,authorization")
}

fn cross_site_upload(server: &TestServer, origin: &str) -> reqwest::RequestBuilder {
    let (content_type, body) = multipart("file", "from-elsewhere.txt", b"hello");
    server
        .user
        .client
        .post(server.url("/api/uploads"))
        .header(header::ORIGIN, origin)
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
}

fn value(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_listed_origin_may_call_the_api_with_credentials_and_the_tus_headers() {
    let server = TestServer::start_with(|c| {
        c.cors_origins = uplink::http::cors::parse_origins(APP).unwrap();
    })
    .await;

    let answered = preflight(&server, APP).send().await.unwrap();
    assert!(answered.status().is_success(), "{}", answered.status());
    assert_eq!(value(&answered, header::ACCESS_CONTROL_ALLOW_ORIGIN), APP);
    assert_eq!(value(&answered, header::ACCESS_CONTROL_ALLOW_CREDENTIALS), "true");
    let allowed = value(&answered, header::ACCESS_CONTROL_ALLOW_HEADERS);
    for name in ["upload-offset", "tus-resumable", "authorization"] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    assert!(value(&answered, header::ACCESS_CONTROL_ALLOW_METHODS).contains("patch"));

    let written = cross_site_upload(&server, APP).send().await.unwrap();
    assert_eq!(written.status(), StatusCode::ACCEPTED, "a listed origin's write passes");
    assert_eq!(value(&written, header::ACCESS_CONTROL_ALLOW_ORIGIN), APP);
    let exposed = value(&written, header::ACCESS_CONTROL_EXPOSE_HEADERS);
    for name in ["upload-offset", "location", "tus-resumable", "upload-expires", "upload-concat"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }

    // Any other origin: no CORS, and its writes are still refused.
    let elsewhere = "http://evil.test";
    let answered = preflight(&server, elsewhere).send().await.unwrap();
    assert_eq!(value(&answered, header::ACCESS_CONTROL_ALLOW_ORIGIN), "");
    let refused = cross_site_upload(&server, elsewhere).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.json::<serde_json::Value>().await.unwrap()["code"], "cross_site");
}

#[tokio::test]
async fn without_the_setting_there_is_no_cors() {
    let server = TestServer::start().await;
    let answered = preflight(&server, APP).send().await.unwrap();
    assert_eq!(value(&answered, header::ACCESS_CONTROL_ALLOW_ORIGIN), "");
    let refused = cross_site_upload(&server, APP).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
