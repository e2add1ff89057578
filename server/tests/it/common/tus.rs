//! tus requests as the tests of several nodes make them, to whichever URL they name (a
//! node, the proxy).

use reqwest::header;

pub const TUS: (&str, &str) = ("tus-resumable", "1.0.0");

/// Creates an upload of `length` bytes at `base` (`http://host:port`) as `client`, named
/// by base64 `filename`: the created answer and the upload's Location.
pub async fn create(
    client: &reqwest::Client,
    base: &str,
    length: usize,
    filename: &str,
) -> (reqwest::Response, String) {
    let created = client
        .post(format!("{base}/api/tus"))
        .header(TUS.0, TUS.1)
        .header("upload-length", length.to_string())
        .header("upload-metadata", format!("filename {filename}"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()[header::LOCATION].to_str().unwrap().to_owned();
    (created, location)
}

/// A PATCH at `offset` to `url`, its body still to be given.
pub fn patch(client: &reqwest::Client, url: &str, offset: usize) -> reqwest::RequestBuilder {
    client
        .patch(url)
        .header(TUS.0, TUS.1)
        .header("upload-offset", offset.to_string())
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
}

/// The upload id at the end of a Location.
pub fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_owned()
}

/// The upload at `url` (`…/api/uploads/<id>`) stored exactly `data`, every byte once.
pub async fn assert_stored(client: &reqwest::Client, url: String, data: &[u8]) {
    use sha2::Digest;
    let upload = super::get_json(client, url).await;
    assert_eq!(upload["sha256"], hex::encode(sha2::Sha256::digest(data)), "every byte once");
}
