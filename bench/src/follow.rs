//! Reading one event stream until the uploads it is waited on for have finished.

use std::collections::HashSet;

use http_body_util::BodyExt;
use hyper::{body::Incoming, Response};

use crate::{
    client::{Account, Client, Error},
    sse::{Item, Reader, Stamp},
};

/// Calls `event` with each event's name and data until it returns `true` (done
/// following) or the stream ends, which is an error.
pub async fn follow(
    response: Response<Incoming>,
    mut event: impl FnMut(&str, &str) -> bool,
) -> Result<(), Error> {
    let mut body = response.into_body();
    let mut reader = Reader::default();
    let mut done = false;
    while let Some(frame) = body.frame().await {
        if let Some(chunk) = frame?.data_ref() {
            reader.feed(chunk, |item| {
                if let Item::Event { name, data } = item {
                    done = done || event(&name, &data);
                }
            });
        }
        if done {
            return Ok(());
        }
    }
    Err("the event stream ended first".into())
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
