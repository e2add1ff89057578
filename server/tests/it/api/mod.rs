//! Every route through the real router (no listener): status codes, bodies, headers.

mod media;

use crate::common;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    response::Response,
    Router,
};
use common::{multipart, state_in, SseParser};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The router, with a logged-in account whose cookie every request carries.
struct Api {
    router: Router,
    cookie: String,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    async fn with(configure: impl FnOnce(&mut uplink::Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = state_in(&dir, configure).await;
        let router = uplink::app(state);
        let register = Request::post("/api/auth/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"username":"alice","password":"correct horse"}"#))
            .unwrap();
        let registered = router.clone().oneshot(register).await.unwrap();
        assert_eq!(registered.status(), StatusCode::CREATED);
        let set = registered.headers()[header::SET_COOKIE].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_owned();
        Self { router, cookie, _dir: dir }
    }

    /// Sends `request` with the account's session cookie.
    async fn send(&self, mut request: Request<Body>) -> Response {
        request.headers_mut().insert(header::COOKIE, self.cookie.parse().unwrap());
        self.router.clone().oneshot(request).await.unwrap()
    }

    async fn get(&self, path: &str) -> Response {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    async fn upload(&self, filename: &str, bytes: &[u8]) -> Value {
        let (content_type, body) = multipart("file", filename, bytes);
        let response = self
            .send(
                Request::post("/api/uploads")
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::CONTENT_LENGTH, body.len())
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let upload = json(response).await;
        assert_eq!(location, format!("/api/uploads/{}", upload["id"].as_str().unwrap()));
        upload
    }

    /// Follows the upload's own event stream, which ends at its terminal event.
    async fn finish(&self, id: &str) -> Vec<common::Sse> {
        let response = self.get(&format!("/api/uploads/{id}/events")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        SseParser::default().push(&bytes)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn json(response: Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

async fn body(response: Response) -> Vec<u8> {
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

async fn assert_error(response: Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let error = json(response).await;
    assert_eq!(error["code"], code, "{error}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn health_answers() {
    let api = Api::new().await;
    assert_eq!(api.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_kind_of_response_carries_the_hardening_headers() {
    let api = Api::new().await;
    for path in ["/", "/healthz", "/api/uploads", "/api/nowhere", "/api/auth/me"] {
        let response = api.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
    }
}

#[tokio::test]
async fn an_upload_is_created_processed_listed_downloaded_and_deleted() {
    let api = Api::new().await;
    let text = b"hello uplink\nsecond line\n";
    let created = api.upload("notes.txt", text).await;
    assert_eq!(created["filename"], "notes.txt");
    assert_eq!(created["status"], "queued");
    assert_eq!(created["size"], text.len());
    // sha256("hello uplink\nsecond line\n"), computed while streaming.
    let expected = sha256_hex(text);
    assert_eq!(created["sha256"], expected);
    let id = created["id"].as_str().unwrap().to_owned();

    let events = api.finish(&id).await;
    assert_eq!(events.first().and_then(|e| e.retry), Some(2000));
    assert_eq!(events.last().unwrap().name(), "done");

    let upload = json(api.get(&format!("/api/uploads/{id}")).await).await;
    assert_eq!(upload["status"], "done");
    assert_eq!(upload["percent"], 100);
    assert_eq!(upload["content_type"], "text/plain; charset=utf-8");
    assert_eq!(upload["has_text"], true);

    let list = json(api.get("/api/uploads").await).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let file = api.get(&format!("/api/uploads/{id}/file")).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        file.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"
    );
    assert_eq!(body(file).await, text);

    let extracted = api.get(&format!("/api/uploads/{id}/text")).await;
    assert_eq!(extracted.status(), StatusCode::OK);
    assert_eq!(body(extracted).await, text);

    let deleted =
        api.send(Request::delete(format!("/api/uploads/{id}")).body(Body::empty()).unwrap()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for path in ["", "/file", "/text", "/events"] {
        let response = api.get(&format!("/api/uploads/{id}{path}")).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(json(api.get("/api/uploads").await).await, serde_json::json!([]));
}

#[tokio::test]
async fn the_list_is_newest_first() {
    let api = Api::new().await;
    let first = api.upload("first.txt", b"1").await;
    let second = api.upload("second.txt", b"2").await;
    let list = json(api.get("/api/uploads").await).await;
    let ids: Vec<&str> =
        list.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second["id"].as_str().unwrap(), first["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn all_events_start_with_a_snapshot_of_every_upload() {
    let api = Api::new().await;
    let a = api.upload("a.txt", b"a").await;
    api.finish(a["id"].as_str().unwrap()).await;
    let b = api.upload("b.txt", b"b").await;
    api.finish(b["id"].as_str().unwrap()).await;

    let response = api.get("/api/events").await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut body = response.into_body();
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    while events.iter().filter(|e: &&common::Sse| e.event.is_some()).count() < 2 {
        let frame = body.frame().await.unwrap().unwrap();
        events.extend(parser.push(frame.data_ref().unwrap()));
    }
    assert_eq!(events[0].retry, Some(2000));
    let snapshot: Vec<_> = events.iter().filter(|e| e.event.is_some()).collect();
    assert_eq!(snapshot.iter().map(|e| e.name()).collect::<Vec<_>>(), ["done", "done"]);
    assert_eq!(snapshot[0].json()["upload"]["filename"], "a.txt");
    assert_eq!(snapshot[1].json()["upload"]["filename"], "b.txt");
    assert!(snapshot[0].id < snapshot[1].id);
}

#[tokio::test]
async fn the_dashboard_is_rendered_on_the_server_with_existing_uploads() {
    let api = Api::new().await;
    api.upload("rendered-on-the-server.txt", b"x").await;
    let response = api.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let html = String::from_utf8(body(response).await).unwrap();
    assert!(html.contains("rendered-on-the-server.txt"), "{html}");
    assert!(html.contains("/pkg/uplink"), "hydration scripts are linked");
    assert!(html.contains("alice"), "the page names who is logged in");

    // Every inline script carries the nonce the policy allows, and nothing else is allowed.
    let nonce = policy.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    let inline_scripts = html.matches("<script").count();
    assert!(inline_scripts > 0);
    assert_eq!(
        html.matches(&format!("<script type=\"module\" nonce=\"{nonce}\"")).count()
            + html.matches(&format!("<script nonce=\"{nonce}\"")).count(),
        inline_scripts,
        "{html}"
    );
    assert!(policy.contains("default-src 'self'") && !policy.contains("unsafe-inline"));
    // A fresh nonce per response.
    let again = api.get("/").await.headers()[header::CONTENT_SECURITY_POLICY].clone();
    assert_ne!(again.to_str().unwrap(), policy);
}

#[tokio::test]
async fn the_timeline_lists_an_uploads_logged_events_in_order_and_pages_on() {
    let api = Api::new().await;
    let pdf = testkit::pdf::pdf(3);
    let id = api.upload("three.pdf", &pdf).await["id"].as_str().unwrap().to_owned();
    api.finish(&id).await;

    let timeline = json(api.get(&format!("/api/uploads/{id}/timeline")).await).await;
    let events = timeline.as_array().unwrap();
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    assert_eq!(events[0]["event"], "progress");
    assert_eq!(events[0]["data"]["upload"]["filename"], "three.pdf", "the first introduces it");
    assert_eq!(events.last().unwrap()["event"], "done");
    let pages: Vec<u64> = events.iter().filter_map(|e| e["data"]["page"].as_u64()).collect();
    assert_eq!(pages, [1, 2, 3]);
    assert!(events.iter().all(|e| e["data"]["upload_id"] == id.as_str()));

    let page =
        json(api.get(&format!("/api/uploads/{id}/timeline?after={}&limit=2", ids[0])).await).await;
    let paged: Vec<i64> =
        page.as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(paged, ids[1..3]);

    // The detail page renders it all on the server: checksum, events, the text's start.
    let html = String::from_utf8(body(api.get(&format!("/uploads/{id}")).await).await).unwrap();
    assert!(html.contains(&sha256_hex(&pdf)), "the checksum is shown");
    assert!(html.contains(&testkit::pdf::page_marker(1)), "the text preview");
    assert!(html.contains("timeline"), "{html}");
    let missing = "0191c1d2-6b0e-7a3c-9f00-1234567890ab";
    let html =
        String::from_utf8(body(api.get(&format!("/uploads/{missing}")).await).await).unwrap();
    assert!(html.contains("No such upload"), "{html}");
}

#[tokio::test]
async fn a_type_outside_the_allowed_list_is_refused_before_anything_is_stored() {
    let api = Api::with(|c| c.allowed_types = ".pdf, text/plain".into()).await;
    let (content_type, form) = multipart("file", "tool.exe", b"MZ binary");
    let refused = api
        .send(
            Request::post("/api/uploads")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    let error = refused.status();
    assert_error(refused, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type").await;
    assert_eq!(error, 415);
    assert_eq!(json(api.get("/api/uploads").await).await, serde_json::json!([]));
    api.upload("fine.pdf", &testkit::pdf::pdf(1)).await;

    // The dashboard is told the limits, to refuse such files before sending them.
    let html = String::from_utf8(body(api.get("/").await).await).unwrap();
    assert!(html.contains(".pdf,text/plain"), "the picker's accept attribute");
}
