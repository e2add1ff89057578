//! A running job's checkpoint: the text of each page extracted so far, so a job stopped
//! midway (a restart) resumes after its last stored page instead of from the start.

use shared::UploadId;
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::store::StoreError;

/// Stores page `page`'s text, in the transaction of the event that announces it.
pub(super) async fn store(
    conn: &mut SqliteConnection,
    id: &UploadId,
    page: u32,
    text: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT OR REPLACE INTO page_texts (upload_id, page, text) VALUES (?, ?, ?)")
        .bind(id.as_str())
        .bind(i64::from(page))
        .bind(text)
        .execute(conn)
        .await?;
    Ok(())
}

/// Drops an upload's checkpoint: its text is assembled, or never will be.
pub(super) async fn delete(conn: &mut SqliteConnection, id: &UploadId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM page_texts WHERE upload_id = ?")
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn pages_done(pool: &SqlitePool, id: &UploadId) -> Result<u32, StoreError> {
    let done: Option<i64> =
        sqlx::query_scalar("SELECT MAX(page) FROM page_texts WHERE upload_id = ?")
            .bind(id.as_str())
            .fetch_one(pool)
            .await?;
    Ok(done.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32)
}

pub(super) async fn page_texts(
    pool: &SqlitePool,
    id: &UploadId,
    after: u32,
    limit: u32,
) -> Result<Vec<(u32, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT page, text FROM page_texts WHERE upload_id = ? AND page > ? ORDER BY page LIMIT ?",
    )
    .bind(id.as_str())
    .bind(i64::from(after))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get::<i64, _>("page")? as u32, row.try_get("text")?)))
        .collect()
}
