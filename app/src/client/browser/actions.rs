//! What a card's buttons ask of the server: cancel a job, retry it, delete an upload.

use gloo_net::http::{Request, Response};
use shared::{routes, UploadId};

use super::{refusal, UNREACHABLE};

/// Stops the upload's job; its `error` event (code `cancelled`) updates the card.
pub async fn cancel(id: &UploadId) -> Result<(), String> {
    outcome(Request::post(&routes::of(routes::UPLOAD_CANCEL, id)).send().await).await
}

/// Runs a failed or cancelled upload's job again; its events update the card.
pub async fn retry(id: &UploadId) -> Result<(), String> {
    outcome(Request::post(&routes::of(routes::UPLOAD_RETRY, id)).send().await).await
}

/// Removes the upload and its bytes.
pub async fn delete(id: &UploadId) -> Result<(), String> {
    outcome(Request::delete(&routes::of(routes::UPLOAD, id)).send().await).await
}

/// `Ok` for a success, else the server's message (or why there was no answer).
async fn outcome(sent: Result<Response, gloo_net::Error>) -> Result<(), String> {
    let response = sent.map_err(|_| UNREACHABLE.to_owned())?;
    if response.ok() {
        return Ok(());
    }
    Err(refusal(&response.text().await.unwrap_or_default(), response.status()))
}

/// Characters of extracted text a card's preview shows.
const PREVIEW_CHARS: usize = 2_000;

/// The start of the upload's extracted text, for a card's preview.
pub async fn text_start(id: &UploadId) -> Result<String, String> {
    let response = Request::get(&routes::of(routes::UPLOAD_TEXT, id))
        .send()
        .await
        .map_err(|_| UNREACHABLE.to_owned())?;
    let body = response.text().await.unwrap_or_default();
    if !response.ok() {
        return Err(refusal(&body, response.status()));
    }
    let mut text: String = body.chars().take(PREVIEW_CHARS).collect();
    if text.len() < body.len() {
        text.push('…');
    }
    Ok(text)
}
