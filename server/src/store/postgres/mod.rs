//! The shared metadata store of a deployment of several nodes: PostgreSQL, holding what
//! the embedded SQLite store holds (uploads, their event log, the jobs' checkpoints, the
//! accounts), so that any node can serve any request. This file opens it; each concern's
//! queries live in a module of their own, and those both SQL backends share in `sql/`.

use std::time::Duration;

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions, PgRow},
    PgPool,
};

use super::StoreError;

mod jobs;
mod limits;
mod log;
mod notify;
mod uploads;

pub use notify::{Signal, Wake};

pub struct PgRepo {
    pool: PgPool,
    /// This process's life as a node: its name and an id of this start alone, on the
    /// uploads it receives and on its heartbeat. A restart is a new life, so what the
    /// last one was receiving ends once its heartbeat expires, whatever the clock did
    /// meanwhile, and two processes given one name never take each other for dead.
    life: String,
    /// How long a node may go without a heartbeat before the others count it gone.
    stall_limit: Duration,
}

impl PgRepo {
    /// Connects to `url` (`postgres://…`) as node `node` and brings the schema up to
    /// date. Several nodes starting at once is safe: sqlx migrates under an advisory lock.
    ///
    /// A transaction this node leaves open longer than `stall_limit` is ended by the
    /// database: a node frozen mid-change (paused, swapped out, its host suspended) would
    /// otherwise hold that change's row locks, and every other node would wait for it.
    pub async fn open(
        url: &str,
        max_connections: u32,
        node: &str,
        stall_limit: Duration,
    ) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let stall_ms = stall_limit.as_millis().max(1).to_string();
        let options = options
            // `pg_stat_activity` tells each node's connections apart.
            .application_name(&format!("uplink {node}"))
            .options([("idle_in_transaction_session_timeout", stall_ms.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A node must not hang on a database that went away: a request waiting for a
            // connection longer than this fails and says so.
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("src/store/postgres/migrations").run(&pool).await?;
        let life = format!("{node}/{}", uuid::Uuid::now_v7());
        let repo = Self { pool, life, stall_limit };
        repo.beat().await?;
        repo.keep_beating();
        Ok(repo)
    }

    /// Notes that this node is alive now.
    pub(super) async fn beat(&self) -> Result<(), StoreError> {
        // Its own lease, so nodes with other leases judge it by the one it keeps.
        sqlx::query(
            "INSERT INTO nodes (id, expires) VALUES ($1, now() + make_interval(secs => $2)) \
             ON CONFLICT (id) DO UPDATE SET expires = excluded.expires",
        )
        .bind(&self.life)
        .bind(self.stall_limit.as_secs_f64())
        .execute(&self.pool)
        .await?;
        // Lives long over, whose uploads were ended by then, are forgotten, with the
        // places they held (which stopped counting when they ended) and attempts older
        // than any window.
        sqlx::query("DELETE FROM nodes WHERE expires < now() - interval '1 day'")
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM places WHERE life NOT IN (SELECT id FROM nodes)")
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM attempts WHERE started < now() - interval '1 day'")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Beats three times per stall limit until the pool is closed (`close`).
    fn keep_beating(&self) {
        let repo = Self { pool: self.pool.clone(), life: self.life.clone(), ..*self };
        tokio::spawn(async move {
            let mut every = tokio::time::interval(repo.stall_limit / 3);
            loop {
                every.tick().await;
                match repo.beat().await {
                    Ok(()) => {}
                    Err(StoreError::Database(sqlx::Error::PoolClosed)) => return,
                    Err(error) => tracing::warn!(%error, "this node's heartbeat failed"),
                }
            }
        });
    }

    /// Ends `tx` as `outcome` says: committed when it succeeded, rolled back now when it
    /// did not. A transaction merely dropped is rolled back only when its connection is
    /// next used, and until then it keeps its row locks, in the pool, for nobody: a
    /// refused change left its upload locked, and a claim skipped the job for good.
    pub(super) async fn finish<T, E: From<StoreError>>(
        tx: sqlx::Transaction<'_, sqlx::Postgres>,
        outcome: Result<T, E>,
    ) -> Result<T, E> {
        match outcome {
            Ok(value) => {
                tx.commit().await.map_err(|e| E::from(e.into()))?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back a transaction failed");
                }
                Err(error)
            }
        }
    }

    pub(in crate::store) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The secret called `name` that every node shares: the one stored, or `made` if
    /// there is none yet (the first node to start stores its own, and every other node,
    /// then and later, reads that one).
    pub async fn shared_secret(&self, name: &str, made: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO cluster_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(made)
        .execute(&self.pool)
        .await?;
        Ok(sqlx::query_scalar("SELECT value FROM cluster_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?)
    }
}

impl PgRepo {
    /// Every node ends the streams the session opened (`store/sql/accounts.rs`). The
    /// session is gone either way: a failure to tell is logged, and those streams end
    /// when they next reconnect.
    async fn session_ended(&self, token_hash: &str) -> Result<(), StoreError> {
        let told = async {
            let mut conn = self.pool.acquire().await?;
            notify::session_ended(&mut conn, token_hash).await
        };
        if let Err(error) = told.await {
            tracing::warn!(%error, "could not tell the other nodes that a session ended");
        }
        Ok(())
    }
}

crate::store::sql::account_repo!(PgRepo, PgRow);
crate::store::sql::resumable_repo!(PgRepo, PgRow);
