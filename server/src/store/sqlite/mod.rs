//! The embedded metadata store: one SQLite file in the data directory, holding the
//! uploads, their event log, the jobs' checkpoints and the accounts. This file opens it
//! and keeps it durable; each concern's queries live in a module of their own.

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use super::StoreError;

mod accounts;
mod checkpoints;
mod log;
mod resumable;
mod retention;
mod uploads;

pub struct SqliteRepo {
    pool: SqlitePool,
}

impl SqliteRepo {
    /// Opens (creating if needed) `uplink.db` in `dir` and brings its schema up to date.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://uplink.db")?
            .filename(dir.join("uplink.db"))
            .create_if_missing(true)
            // WAL + NORMAL: a commit survives the process being killed (SIGKILL) without
            // an fsync per event; only a power loss can take the last few back.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // sqlx pings a pooled connection before handing it out: one more round trip
            // to the connection's thread for every query and transaction. A connection to
            // a local file does not go stale the way a network one does.
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        sqlx::migrate!("src/store/migrations").run(&pool).await?;
        let repo = Self { pool };
        repo.mark_open().await?;
        Ok(repo)
    }

    /// The store in `dir` as it is, to read only (`uplink migrate`): neither created,
    /// migrated nor marked open; `None` when there is none.
    pub async fn open_read_only(dir: &Path) -> Result<Option<Self>, StoreError> {
        let file = dir.join("uplink.db");
        if !file.exists() {
            return Ok(None);
        }
        let options = SqliteConnectOptions::from_str("sqlite://uplink.db")?
            .filename(file)
            .read_only(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await?;
        Ok(Some(Self { pool }))
    }

    pub(in crate::store) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A transaction for a change that reads before it writes. `IMMEDIATE` takes the write
    /// lock up front, so it waits out other writers (the busy timeout); a deferred one
    /// would fail outright (SQLITE_BUSY) if another connection wrote between its read
    /// and its write (`tests/store.rs`).
    ///
    /// Its future must not be dropped midway: sqlx 0.8 leaks a custom `BEGIN` whose future
    /// is dropped right after it ran, and that transaction would hold the write lock for
    /// good. The recorder runs every change in a task of its own for this reason.
    pub(super) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Notes that a server has the store open, first moving the event ids past anything
    /// the previous one may have handed out if it did not close the store cleanly.
    ///
    /// Without an fsync per commit, a power loss can take back the last commits before
    /// the WAL was last synced, and with them ids that clients already saw. New events
    /// must never reuse those ids (a client resuming from one would skip real events),
    /// so after an unclean stop the sequence jumps far beyond what one WAL can hold.
    /// The flag itself is checkpointed, so it survives the very power loss it is for.
    async fn mark_open(&self) -> Result<(), StoreError> {
        let running: Option<i64> =
            sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'running'")
                .fetch_optional(&self.pool)
                .await?;
        if running == Some(1) {
            sqlx::query("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'events'")
                .bind(ID_GAP_AFTER_UNCLEAN_STOP)
                .execute(&self.pool)
                .await?;
            tracing::warn!(
                gap = ID_GAP_AFTER_UNCLEAN_STOP,
                "the previous run did not stop cleanly; new event ids skip ahead"
            );
        }
        self.set_running(true).await
    }

    async fn set_running(&self, running: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO store_meta (key, value) VALUES ('running', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(i64::from(running))
        .execute(&self.pool)
        .await?;
        // Best effort: a checkpoint can lose to a writer that never pauses (a job of a
        // previous run still finishing a page); the flag is committed either way and
        // reaches the main file at the next automatic checkpoint.
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(FULL)").execute(&self.pool).await {
            tracing::warn!(%error, "checkpointing the store's running flag failed");
        }
        Ok(())
    }

    /// The server is stopping cleanly: the next start need not skip ids ahead.
    pub(super) async fn close_store(&self) -> Result<(), StoreError> {
        self.set_running(false).await
    }
}

/// How far event ids jump after an unclean stop: far more commits than fit in the
/// unsynced tail of the WAL (it is checkpointed about every thousand pages).
const ID_GAP_AFTER_UNCLEAN_STOP: i64 = 1_000_000;
