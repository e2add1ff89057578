//! An upload as a table row, for every SQL backend: each written column named once
//! beside the value it takes (the inserts, updates and selects are made from that
//! list), and the row read back; and a logged event's row read back.

use std::sync::{Arc, LazyLock};

use shared::{ErrorBody, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::domain::{lifecycle, StoredEvent};
use crate::store::StoreError;

/// A value bound to one column.
pub(in crate::store) enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Bool(bool),
}

/// Every written column of an upload row with its value, in one order.
pub(in crate::store) fn columns(upload: &Upload, last_id: i64) -> [(&'static str, Value<'_>); 20] {
    use Value::{Bool, Int, Text};
    let error = upload.error.as_ref();
    [
        ("id", Text(Some(upload.id.as_str()))),
        ("filename", Text(Some(&upload.filename))),
        ("size", Int(Some(upload.size as i64))),
        ("content_type", Text(upload.content_type.as_deref())),
        ("sha256", Text(upload.sha256.as_deref())),
        ("status", Text(Some(upload.status.as_str()))),
        ("stage", Text(upload.stage.map(Stage::as_str))),
        ("percent", Int(Some(i64::from(upload.percent)))),
        ("pages", Int(upload.pages.map(i64::from))),
        ("error_code", Text(error.map(|e| e.code.as_str()))),
        ("error_message", Text(error.map(|e| e.message.as_str()))),
        ("created_at", Text(Some(&upload.created_at))),
        ("updated_at", Text(Some(&upload.updated_at))),
        ("client_ref", Text(upload.client_ref.as_deref())),
        ("has_text", Bool(upload.has_text)),
        ("attempt", Int(Some(i64::from(upload.attempt)))),
        ("width", Int(upload.width.map(i64::from))),
        ("height", Int(upload.height.map(i64::from))),
        ("has_thumbnail", Bool(upload.has_thumbnail)),
        // The id of the upload's newest event: where a snapshot of it stands in the log.
        ("last_seq", Int(Some(last_id))),
    ]
}

/// The column names of [`columns`], in its order.
pub(in crate::store) fn names() -> impl Iterator<Item = &'static str> {
    let id = UploadId::parse("00000000-0000-7000-8000-000000000000").expect("a canonical id");
    let sample = lifecycle::new_upload(id, String::new(), None, "");
    columns(&sample, 0).map(|(name, _)| name).into_iter()
}

/// `id, filename, …`: what every select of an upload reads. Made once: every change
/// and every read of an upload uses it.
pub(in crate::store) static SELECT: LazyLock<String> =
    LazyLock::new(|| names().collect::<Vec<_>>().join(", "));

/// An upload and the id of its newest event, from a row of any SQL backend.
pub(in crate::store) fn upload_from_row<'r, R>(row: &'r R) -> Result<(i64, Upload), StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |what: &str| StoreError::CorruptRow(what.to_owned());
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    let stage: Option<String> = row.try_get("stage")?;
    let error_code: Option<String> = row.try_get("error_code")?;
    let error_message: Option<String> = row.try_get("error_message")?;
    let upload = Upload {
        id: UploadId::parse(&id).ok_or_else(|| corrupt("id"))?,
        filename: row.try_get("filename")?,
        size: row.try_get::<i64, _>("size")? as u64,
        content_type: row.try_get("content_type")?,
        sha256: row.try_get("sha256")?,
        status: UploadStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        stage: stage.as_deref().and_then(Stage::parse),
        percent: row.try_get::<i64, _>("percent")?.clamp(0, 100) as u8,
        pages: row.try_get::<Option<i64>, _>("pages")?.map(|p| p as u32),
        error: error_code
            .map(|code| ErrorBody::new(ErrorCode::parse(&code), error_message.unwrap_or_default())),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        client_ref: row.try_get("client_ref")?,
        has_text: row.try_get("has_text")?,
        attempt: row.try_get::<i64, _>("attempt")?.clamp(1, i64::from(u32::MAX)) as u32,
        width: row.try_get::<Option<i64>, _>("width")?.map(|w| w as u32),
        height: row.try_get::<Option<i64>, _>("height")?.map(|h| h as u32),
        has_thumbnail: row.try_get("has_thumbnail")?,
    };
    Ok((row.try_get("last_seq")?, upload))
}

/// A logged event of `owner` from its row (`seq, upload_id, name, data`).
pub(in crate::store) fn event_from_row<'r, R>(
    row: &'r R,
    owner: &Arc<str>,
) -> Result<StoredEvent, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let upload_id: &str = row.try_get("upload_id")?;
    let upload_id = UploadId::parse(upload_id)
        .ok_or_else(|| StoreError::CorruptRow("event upload_id".into()))?;
    Ok(StoredEvent::from_parts(
        row.try_get("seq")?,
        upload_id,
        Arc::clone(owner),
        row.try_get::<&str, _>("name")?,
        row.try_get::<&str, _>("data")?,
    ))
}
