//! `uplink migrate --to postgres://…`: copies an embedded deployment's metadata (accounts,
//! sessions, API tokens, uploads, resumable and partial uploads, page checkpoints, the
//! event log, the events-token key) from its stopped SQLite database, read only, into
//! PostgreSQL, where several nodes can share it. Every row is inserted only if it is not
//! there yet, so a copy that was interrupted is simply run again; one that finished is
//! marked, and is not run again.
//!
//! Event ids stay what clients have seen: SQLite numbers every account's events in one
//! sequence, so each account's ids already grow, and PostgreSQL's counter for the account
//! goes on from its highest. With `--blobs-to`, the bytes are copied too
//! (`migrate_blobs`); without it, they stay in the data directory for the nodes to share.

use std::{fmt, path::Path};

use shared::AccountId;
use sqlx::{sqlite::SqliteRow, Row};

use super::{
    migrate_blobs::{copy_blobs, CopiedBlobs, CopyError},
    BlobStore, EventLog, FsBlobStore, PgRepo, SqliteRepo, StoreError,
};

/// Rows read and written per statement batch.
const BATCH: i64 = 500;

/// How a column's values are read from SQLite and bound for PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Bool,
}

/// A table copied as it is, its columns named the same on both sides.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// Only rows that match (SQLite), e.g. not the ownerless uploads of before accounts.
    filter: &'static str,
    /// Its primary key, on both sides: a row already copied is skipped.
    key: &'static str,
    /// What a column reads as where SQLite has it NULL and PostgreSQL may not.
    defaults: &'static [(&'static str, &'static str)],
}

use Kind::{Bool, Int, Text};

const TABLES: &[Table] = &[
    // By id only: a username taken by another account is an error, not a row skipped.
    Table {
        name: "users",
        key: "id",
        columns: &[("id", Text), ("username", Text), ("password_hash", Text), ("created_at", Text)],
        filter: "1",
        defaults: &[],
    },
    Table {
        name: "sessions",
        key: "token_hash",
        columns: &[
            ("token_hash", Text),
            ("user_id", Text),
            ("created_at", Text),
            ("expires_at", Text),
        ],
        filter: "1",
        defaults: &[],
    },
    Table {
        name: "api_tokens",
        key: "id",
        columns: &[
            ("id", Text),
            ("user_id", Text),
            ("name", Text),
            ("token_hash", Text),
            ("created_at", Text),
        ],
        filter: "1",
        defaults: &[],
    },
    Table {
        name: "uploads",
        key: "id",
        columns: &[
            ("id", Text),
            ("owner_id", Text),
            ("filename", Text),
            ("size", Int),
            ("content_type", Text),
            ("sha256", Text),
            ("status", Text),
            ("stage", Text),
            ("percent", Int),
            ("pages", Int),
            ("error_code", Text),
            ("error_message", Text),
            ("created_at", Text),
            ("updated_at", Text),
            ("client_ref", Text),
            ("has_text", Bool),
            ("attempt", Int),
            ("width", Int),
            ("height", Int),
            ("has_thumbnail", Bool),
            ("last_seq", Int),
        ],
        // Uploads from before accounts belong to nobody, and nobody could see them.
        filter: "owner_id IS NOT NULL",
        defaults: &[],
    },
    Table {
        name: "resumable_uploads",
        key: "upload_id",
        columns: &[
            ("upload_id", Text),
            ("length", Int),
            ("metadata", Text),
            ("expires_at", Text),
            ("concat", Text),
        ],
        filter: "upload_id IN (SELECT id FROM uploads WHERE owner_id IS NOT NULL)",
        defaults: &[],
    },
    Table {
        name: "tus_partials",
        key: "id",
        columns: &[
            ("id", Text),
            ("owner_id", Text),
            ("length", Int),
            ("stored", Int),
            ("metadata", Text),
            ("expires_at", Text),
            ("created_at", Text),
        ],
        filter: "1",
        defaults: &[],
    },
    Table {
        name: "page_texts",
        key: "upload_id, page",
        columns: &[("upload_id", Text), ("page", Int), ("text", Text)],
        filter: "upload_id IN (SELECT id FROM uploads WHERE owner_id IS NOT NULL)",
        defaults: &[],
    },
    Table {
        name: "events",
        key: "owner_id, seq",
        columns: &[
            ("owner_id", Text),
            ("seq", Int),
            ("upload_id", Text),
            ("name", Text),
            ("data", Text),
            ("recorded_at", Text),
        ],
        filter: "owner_id IS NOT NULL",
        // Events from before their time was kept count as old ones.
        defaults: &[("recorded_at", "''")],
    },
];

/// What a migration copied: rows new to PostgreSQL, per table, in copying order.
#[derive(Debug, Default)]
pub struct Moved {
    pub tables: Vec<(&'static str, u64)>,
    /// Whether the events-token key was copied (false: PostgreSQL had one already).
    pub token_key: bool,
    /// What `--blobs-to` copied.
    pub blobs: Option<CopiedBlobs>,
}

impl fmt::Display for Moved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (table, rows) in &self.tables {
            writeln!(f, "{table}: {rows} new rows")?;
        }
        let key = if self.token_key { "copied" } else { "the database's own kept" };
        write!(f, "events-token key: {key}")?;
        match &self.blobs {
            Some(blobs) => write!(f, "\n{blobs}"),
            None => Ok(()),
        }
    }
}

/// Why a migration did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Blobs(#[from] CopyError),
}

fn refused(why: impl Into<String>) -> MigrateError {
    MigrateError::Refused(why.into())
}

/// Copies the metadata in `data_dir`'s SQLite database into `to`'s PostgreSQL database.
///
/// Refused when there is no embedded deployment there, while its server runs (or if it
/// did not stop cleanly: start and stop it once), when the database holds another
/// deployment's data, and once a migration of this one finished: from then on the
/// nodes own the data, and copying again would bring back what they deleted (a revoked
/// token, a logged-out session).
///
/// With `blobs`, the data directory's blobs are copied there before the migration is
/// marked finished.
pub async fn sqlite_to_postgres(
    data_dir: &Path,
    to: &PgRepo,
    blobs: Option<&dyn BlobStore>,
) -> Result<Moved, MigrateError> {
    let from = SqliteRepo::open_read_only(data_dir)
        .await?
        .ok_or_else(|| refused(format!("no Uplink database in {}", data_dir.display())))?;
    let running: Option<i64> =
        sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'running'")
            .fetch_optional(from.pool())
            .await
            .map_err(StoreError::from)?;
    if running == Some(1) {
        return Err(refused(
            "the embedded server is running, or did not stop cleanly (start and stop it once)",
        ));
    }
    // The events-token key tells one deployment from another.
    let key = tokio::fs::read_to_string(data_dir.join("token.key")).await.ok();
    let key = key
        .and_then(|hex_key| hex::decode(hex_key.trim()).ok())
        .ok_or_else(|| refused("the data directory has no valid token.key"))?;
    let theirs: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT value FROM cluster_secrets WHERE name = 'events-token-key'")
            .fetch_optional(to.pool())
            .await
            .map_err(StoreError::from)?;
    let has_users: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(to.pool())
        .await
        .map_err(StoreError::from)?;
    if has_users && theirs.as_deref() != Some(&key[..]) {
        return Err(refused("the database already holds another deployment's data"));
    }
    let finished: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM cluster_secrets WHERE name = 'migrated')")
            .fetch_one(to.pool())
            .await
            .map_err(StoreError::from)?;
    if finished {
        return Err(refused("this deployment was migrated already: the nodes own its data now"));
    }

    let mut moved = Moved::default();
    for table in TABLES {
        moved.tables.push((table.name, copy(&from, to, table).await?));
    }
    // Every account's counter goes on past every id SQLite ever handed out: its one
    // sequence, moved past what a power loss may have taken back, bounds every id a
    // client may hold (of events compacted since, of snapshots). What compaction removed
    // stays behind the horizon (SQLite keeps one for all: each account gets it).
    let handed_out: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
            .fetch_optional(from.pool())
            .await
            .map_err(StoreError::from)?;
    let horizon = EventLog::log_bounds(&from, &AccountId::new("")).await?.0;
    sqlx::query(
        "INSERT INTO event_counters (owner_id, last_id, compacted_through) \
         SELECT id, $1, $2 FROM users UNION SELECT owner_id, $1, $2 FROM uploads \
         ON CONFLICT (owner_id) DO UPDATE SET \
           last_id = GREATEST(event_counters.last_id, excluded.last_id), \
           compacted_through = GREATEST(event_counters.compacted_through, excluded.compacted_through)",
    )
    .bind(handed_out.unwrap_or(0))
    .bind(horizon)
    .execute(to.pool())
    .await
    .map_err(StoreError::from)?;
    let copied = sqlx::query(
        "INSERT INTO cluster_secrets (name, value) VALUES ('events-token-key', $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&key)
    .execute(to.pool())
    .await
    .map_err(StoreError::from)?;
    moved.token_key = copied.rows_affected() == 1;
    if let Some(blobs) = blobs {
        let from_blobs = FsBlobStore::open_dir(data_dir.join("blobs"))
            .await
            .map_err(|e| CopyError::Io("the data directory".into(), e))?;
        moved.blobs = Some(copy_blobs(&from_blobs, blobs, &from).await?);
    }
    sqlx::query("INSERT INTO cluster_secrets (name, value) VALUES ('migrated', $1)")
        .bind(&b"sqlite"[..])
        .execute(to.pool())
        .await
        .map_err(StoreError::from)?;
    Ok(moved)
}

/// Copies one table, a batch at a time in SQLite's row order; returns the rows that
/// were new.
async fn copy(from: &SqliteRepo, to: &PgRepo, table: &Table) -> Result<u64, StoreError> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let read: Vec<String> = names
        .iter()
        .map(|name| match table.defaults.iter().find(|(column, _)| column == name) {
            Some((_, default)) => format!("COALESCE({name}, {default}) AS {name}"),
            None => (*name).to_owned(),
        })
        .collect();
    let select = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {BATCH} OFFSET $1",
        read.join(", "),
        table.name,
        table.filter,
        names[..2].join(", ")
    );
    let placeholders: Vec<String> = (1..=names.len()).map(|n| format!("${n}")).collect();
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING",
        table.name,
        names.join(", "),
        placeholders.join(", "),
        table.key
    );
    let (mut offset, mut new) = (0_i64, 0);
    loop {
        let rows: Vec<SqliteRow> = sqlx::query(&select).bind(offset).fetch_all(from.pool()).await?;
        let mut tx = to.pool().begin().await?;
        for row in &rows {
            let mut query = sqlx::query(&insert);
            for (name, kind) in table.columns {
                query = match kind {
                    Text => query.bind(row.try_get::<Option<String>, _>(*name)?),
                    Int => query.bind(row.try_get::<Option<i64>, _>(*name)?),
                    Bool => query.bind(row.try_get::<bool, _>(*name)?),
                };
            }
            new += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        if (rows.len() as i64) < BATCH {
            return Ok(new);
        }
        offset += BATCH;
    }
}
