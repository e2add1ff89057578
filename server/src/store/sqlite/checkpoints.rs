//! A running job's checkpoint: the text of each page extracted so far, so a job stopped
//! midway (a restart) resumes after its last stored page instead of from the start. Read
//! back by the statements both SQL backends share (`store/sql/uploads.rs`).

use shared::UploadId;
use sqlx::SqliteConnection;

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
