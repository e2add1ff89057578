//! Reading one event stream until the uploads it is waited on for have finished.

use std::collections::HashSet;

use http_body_util::BodyExt;
use hyper::{body::Incoming, Response};

use crate::{
    client::{Account, Client, Error},
    sse::{Item, Reader, Stamp},
};

/// Calls `seen` with everything the stream says (events, `retry:`, keep-alives) until it
/// returns `true` (done following) or the stream ends or fails, which is an error.
pub async fn follow_items(
    response: Response<Incoming>,
    mut seen: impl FnMut(Item) -> bool,
) -> Result<(), Error> {
    let mut body = response.into_body();
    let mut reader = Reader::default();
    let mut done = false;
    while let Some(frame) = body.frame().await {
        if let Some(chunk) = frame?.data_ref() {
            reader.feed(chunk, |item| done = done || seen(item));
        }
        if done {
            return Ok(());
        }
    }
    Err("the event stream ended first".into())
}

/// [`follow_items`] for events alone: `event` gets each one's name and data.
pub async fn follow(
    response: Response<Incoming>,
    mut event: impl FnMut(&str, &str) -> bool,
) -> Result<(), Error> {
    follow_items(response, |item| match item {
        Item::Event { name, data } => event(&name, &data),
        Item::Retry | Item::Comment => false,
    })
    .await
}

/// Waits for every upload in `ids` to reach its terminal event, through the account's
/// `/api/events` (whose snapshot tells of those that already have).
pub async fn settle(client: &Client, account: &Account, ids: &[String]) -> Result<(), Error> {
    let mut pending: HashSet<&str> = ids.iter().map(String::as_str).collect();
    if pending.is_empty() {
        return Ok(());
    }
    let response = client.events("/api/events", account).await?;
    follow(response, |name, data| {
        if name != "progress" {
            if let Some(stamp) = Stamp::parse(data) {
                pending.remove(stamp.upload_id.as_str());
            }
        }
        pending.is_empty()
    })
    .await
}
