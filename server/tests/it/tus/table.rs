//! The protocol's statuses and headers as a table, like tusd's handler tests: each case
//! is one request against a fresh upload of 10 bytes with 4 stored, and the status and
//! headers it must answer with.

use super::*;

/// What a header of the answer must be.
enum Expect {
    Is(&'static str),
    Has(&'static str),
    Absent,
}

struct Case {
    name: &'static str,
    method: &'static str,
    /// On the upload (`/api/tus/{id}`), else on `/api/tus`.
    on_upload: bool,
    /// Sent by another account.
    other: bool,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    status: u16,
    expect: &'static [(&'static str, Expect)],
}

const V: (&str, &str) = TUS;
const OCTETS: (&str, &str) = ("content-type", OFFSET_STREAM);

const CASES: &[Case] = &[
    Case { name: "capabilities", method: "OPTIONS", on_upload: false, other: false, headers: &[], body: b"", status: 204, expect: &[
        ("tus-version", Expect::Is("1.0.0")),
        ("tus-resumable", Expect::Absent),
        ("tus-max-size", Expect::Is("1073741824")),
        ("tus-checksum-algorithm", Expect::Is("sha1,sha256,md5")),
        ("tus-extension", Expect::Is("creation,creation-with-upload,creation-defer-length,expiration,checksum,checksum-trailer,termination,concatenation")),
    ] },
    Case { name: "no version", method: "POST", on_upload: false, other: false, headers: &[("upload-length", "1")], body: b"", status: 412, expect: &[
        ("tus-version", Expect::Is("1.0.0")), ("tus-resumable", Expect::Is("1.0.0")),
    ] },
    Case { name: "another version", method: "HEAD", on_upload: true, other: false, headers: &[("tus-resumable", "0.2.2")], body: b"", status: 412, expect: &[
        ("tus-version", Expect::Is("1.0.0")), ("upload-offset", Expect::Absent),
    ] },
    Case { name: "creation", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-length", "5")], body: b"", status: 201, expect: &[
        ("location", Expect::Has("/api/tus/")), ("upload-expires", Expect::Has(" GMT")), ("tus-resumable", Expect::Is("1.0.0")),
    ] },
    Case { name: "creation past the maximum", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-length", "1073741825")], body: b"", status: 413, expect: &[] },
    Case { name: "deferred creation", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-defer-length", "1")], body: b"", status: 201, expect: &[
        ("upload-defer-length", Expect::Is("1")), ("upload-length", Expect::Absent),
    ] },
    Case { name: "creation with upload", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-length", "5"), OCTETS], body: b"abc", status: 201, expect: &[
        ("upload-offset", Expect::Is("3")),
    ] },
    Case { name: "head", method: "HEAD", on_upload: true, other: false, headers: &[V], body: b"", status: 200, expect: &[
        ("upload-offset", Expect::Is("4")), ("upload-length", Expect::Is("10")), ("cache-control", Expect::Is("no-store")),
        ("upload-metadata", Expect::Is("filename c8WCb8WEY2U=,filetype dGV4dC9wbGFpbg==,flag")), ("tus-resumable", Expect::Is("1.0.0")),
    ] },
    Case { name: "head by another account", method: "HEAD", on_upload: true, other: true, headers: &[V], body: b"", status: 404, expect: &[
        ("upload-offset", Expect::Absent),
    ] },
    Case { name: "patch", method: "PATCH", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "4")], body: b"efg", status: 204, expect: &[
        ("upload-offset", Expect::Is("7")), ("upload-expires", Expect::Has(" GMT")),
    ] },
    Case { name: "patch at a stale offset", method: "PATCH", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "3")], body: b"d", status: 409, expect: &[] },
    Case { name: "patch without an offset stream", method: "PATCH", on_upload: true, other: false, headers: &[V, ("content-type", "text/plain"), ("upload-offset", "4")], body: b"e", status: 415, expect: &[] },
    Case { name: "patch past the length", method: "PATCH", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "4")], body: b"efghijk", status: 413, expect: &[] },
    Case { name: "patch by another account", method: "PATCH", on_upload: true, other: true, headers: &[V, OCTETS, ("upload-offset", "4")], body: b"e", status: 404, expect: &[
        ("upload-offset", Expect::Absent),
    ] },
    Case { name: "matching sha1", method: "PATCH", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "4"), ("upload-checksum", "sha1 y/AZt2S5R3CAxamnSKKRGl+m1hQ=")], body: b"efg", status: 204, expect: &[
        ("upload-offset", Expect::Is("7")),
    ] },
    Case { name: "mismatching sha1", method: "PATCH", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "4"), ("upload-checksum", "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=")], body: b"efg", status: 460, expect: &[] },
    Case { name: "unknown checksum algorithm", method: "PATCH", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "4"), ("upload-checksum", "crc32 AAAAAA==")], body: b"efg", status: 400, expect: &[] },
    Case { name: "method override", method: "POST", on_upload: true, other: false, headers: &[V, OCTETS, ("upload-offset", "4"), ("x-http-method-override", "PATCH")], body: b"e", status: 204, expect: &[
        ("upload-offset", Expect::Is("5")),
    ] },
    Case { name: "termination", method: "DELETE", on_upload: true, other: false, headers: &[V], body: b"", status: 204, expect: &[] },
    Case { name: "termination by another account", method: "DELETE", on_upload: true, other: true, headers: &[V], body: b"", status: 404, expect: &[] },
    Case { name: "a final of nothing here", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-concat", "final;/api/tus/0191c1d2-6b0e-7a3c-9f00-000000000001")], body: b"", status: 404, expect: &[] },
    Case { name: "a malformed concat", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-concat", "everything")], body: b"", status: 400, expect: &[] },
    Case { name: "a partial", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-concat", "partial"), ("upload-length", "3")], body: b"", status: 201, expect: &[
        ("upload-concat", Expect::Is("partial")), ("location", Expect::Has("/api/tus/")),
    ] },
    // client_ref "!-": a client's name for an upload is letters, digits, `-` and `_`.
    Case { name: "a malformed client_ref", method: "POST", on_upload: false, other: false, headers: &[V, ("upload-length", "3"), ("upload-metadata", "client_ref IS0=")], body: b"", status: 400, expect: &[] },
];

#[tokio::test]
async fn every_status_and_header_of_the_protocol() {
    let server = TestServer::start().await;
    let client = &server.user.client;
    let bob = Account::register(&server.url(""), "bob").await;
    for case in CASES {
        let location = create(client, &server, 10).await;
        assert_eq!(patch(client, &server, &location, 0, b"abcd").await.status(), 204);
        let url = server.url(if case.on_upload { &location } else { "/api/tus" });
        let who = if case.other { &bob.client } else { client };
        let method = Method::from_bytes(case.method.as_bytes()).unwrap();
        let mut request = who.request(method, url).body(case.body.to_vec());
        for (name, value) in case.headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status != case.status {
            panic!("{}: {status} {}", case.name, response.text().await.unwrap());
        }
        for (name, expect) in case.expect {
            let got = text(&response, name);
            match expect {
                Expect::Is(value) => {
                    assert_eq!(got.as_deref(), Some(*value), "{}: {name}", case.name)
                }
                Expect::Has(part) => assert!(
                    got.as_deref().is_some_and(|v| v.contains(part)),
                    "{}: {name} is {got:?}",
                    case.name
                ),
                Expect::Absent => assert_eq!(got, None, "{}: {name}", case.name),
            }
        }
        // A refusal is JSON with a code and a message.
        if case.status >= 400 && case.method != "HEAD" {
            let error: Value = response.json().await.unwrap();
            assert!(
                error["code"].is_string() && error["message"].is_string(),
                "{}: {error}",
                case.name
            );
        }
    }
}
