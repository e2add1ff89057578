//! The server's shared state: cheap-to-clone handles to every part, picked once here.

use std::{io, sync::Arc, time::Duration};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{admission::Admission, client::TrustedProxies, config::Config};
use crate::{
    auth::{limiter::AccountLimits, password::PasswordQueue, token::TokenKey},
    domain::clock,
    events::{follow, EventBus, FollowedHub, MemoryHub, Recorder, StreamDeps, StreamSlots},
    processing::{worker_context, Jobs},
    store::{
        AccountRepo, BlobStore, EventLog, FsBlobStore, JobQueue, LimitStore, MemoryQueue,
        MetadataRepo, PgRepo, ResumableRepo, S3BlobStore, Signal, SqliteRepo, StoreError, Wake,
        MAX_BLOB,
    },
    uploads::{holds::Holds, quota::Quotas, Uploads},
};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub repo: Arc<dyn MetadataRepo>,
    pub log: Arc<dyn EventLog>,
    pub blobs: Arc<dyn BlobStore>,
    pub bus: Arc<dyn EventBus>,
    pub recorder: Arc<Recorder>,
    pub accounts: Arc<dyn AccountRepo>,
    /// Login and registration attempts, per username and per client address.
    pub account_limits: Arc<AccountLimits>,
    /// Bounds the logins and registrations waiting for a password hash.
    pub password_queue: Arc<PasswordQueue>,
    /// Open event streams per account and per events token.
    pub streams: Arc<StreamSlots>,
    /// The connection caps, shared with the accept loop.
    pub admission: Arc<Admission>,
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Signs the events tokens of `POST /api/uploads/{id}/token`.
    pub token_key: Arc<TokenKey>,
    pub quotas: Arc<Quotas>,
    /// Largest file and accepted types, parsed once from the config.
    pub limits: Arc<shared::UploadLimits>,
    pub jobs: Arc<Jobs>,
    /// What the uploads domain works with: the same parts as above.
    pub uploads: Uploads,
    /// Cancelled when the server begins to shut down: streams end, workers stop.
    pub shutdown: CancellationToken,
    /// The token hash of each session that ends, so the streams it opened end too.
    pub sessions_ended: broadcast::Sender<Arc<str>>,
    /// How many connections were closed because their client stopped reading.
    pub stalled_connections: Arc<watch::Sender<u64>>,
    pub leptos_options: LeptosOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory: {0}")]
    DataDir(#[from] io::Error),
    #[error("metadata store: {0}")]
    Store(#[from] StoreError),
    #[error("the shared events-token key in the database is not a key")]
    TokenKey,
    #[error("S3 storage: {0}")]
    BlobStore(io::Error),
}

/// The metadata store's seams, all served by the one backend the config picks, and the
/// key that signs events tokens, kept where every node that serves them finds it.
struct Metadata {
    repo: Arc<dyn MetadataRepo>,
    log: Arc<dyn EventLog>,
    resumable: Arc<dyn ResumableRepo>,
    accounts: Arc<dyn AccountRepo>,
    token_key: Arc<TokenKey>,
    queue: Arc<dyn JobQueue>,
    /// A shared store's word of every event any node appends (`None`: this node is the
    /// only writer, and its recorder publishes).
    wakes: Option<mpsc::Receiver<Wake>>,
    /// A shared store's word of jobs pushed, jobs to stop and sessions ended, by any node.
    signals: Option<mpsc::Receiver<Signal>>,
    /// Where limits count across nodes (`None`: each count is this process's own).
    shared_limits: Option<Arc<dyn LimitStore>>,
}

impl Metadata {
    async fn open(config: &Config) -> Result<Self, StartError> {
        match &config.database_url {
            None => {
                let sqlite = Arc::new(SqliteRepo::open(&config.data_dir).await?);
                let key = TokenKey::load_or_create(&config.data_dir.join("token.key")).await?;
                Ok(Self::of(sqlite, key))
            }
            Some(url) => {
                let node = config.node_id();
                let postgres =
                    Arc::new(PgRepo::open(url, PG_CONNECTIONS, &node, config.job_lease).await?);
                let key = postgres
                    .shared_secret("events-token-key", TokenKey::generate().as_bytes())
                    .await?;
                let key = TokenKey::from_bytes(&key).ok_or(StartError::TokenKey)?;
                let (wakes, signals) = (postgres.wakes(), postgres.signals());
                let mut metadata = Self::of(Arc::clone(&postgres), key);
                metadata.queue = Arc::clone(&postgres) as Arc<dyn JobQueue>;
                metadata.shared_limits = Some(postgres);
                (metadata.wakes, metadata.signals) = (Some(wakes), Some(signals));
                Ok(metadata)
            }
        }
    }

    /// Every seam served by `backend`, with the in-memory job queue of a single process
    /// (a shared backend replaces it with its own) and nothing to listen to.
    fn of<R>(backend: Arc<R>, token_key: TokenKey) -> Self
    where
        R: MetadataRepo + EventLog + ResumableRepo + AccountRepo,
    {
        Self {
            repo: backend.clone(),
            log: backend.clone(),
            resumable: backend.clone(),
            accounts: backend,
            token_key: Arc::new(token_key),
            queue: Arc::new(MemoryQueue::default()),
            wakes: None,
            signals: None,
            shared_limits: None,
        }
    }
}

/// Connections one node keeps to PostgreSQL: enough for its workers' changes, its
/// uploads' and its streams' reads at once, few enough that several nodes stay well
/// under the server's default `max_connections` (100).
const PG_CONNECTIONS: u32 = 16;

impl AppState {
    /// Opens the embedded stores in the data directory, recovers what a previous run
    /// left unfinished, and starts the workers.
    pub async fn open(config: Config, leptos_options: LeptosOptions) -> Result<Self, StartError> {
        let dir = config.data_dir.join("blobs");
        let blobs: Arc<dyn BlobStore> = match (config.s3(), &config.database_url) {
            (Some(s3), _) => {
                if config.max_upload_bytes > MAX_BLOB {
                    let message = format!(
                        "UPLINK_MAX_UPLOAD_BYTES is past the {MAX_BLOB} bytes of S3's 10,000 parts"
                    );
                    return Err(StartError::BlobStore(io::Error::other(message)));
                }
                Arc::new(S3BlobStore::open(&s3).await.map_err(StartError::BlobStore)?)
            }
            (None, None) => Arc::new(FsBlobStore::open_dir(dir).await?),
            // Nodes sharing a database and no bucket share a network file system.
            (None, Some(_)) => Arc::new(FsBlobStore::open_shared_dir(dir).await?),
        };
        Self::open_with_blobs(config, leptos_options, blobs).await
    }

    /// [`AppState::open`] with another blob store (tests use one that fails on demand).
    pub async fn open_with_blobs(
        config: Config,
        leptos_options: LeptosOptions,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<Self, StartError> {
        tokio::fs::create_dir_all(&config.data_dir).await?;
        let Metadata {
            repo,
            log,
            resumable,
            accounts,
            token_key,
            queue,
            wakes,
            signals,
            shared_limits,
        } = Metadata::open(&config).await?;
        let quotas =
            Quotas::new(config.user_quota(), config.user_max_in_flight, shared_limits.clone());
        let shutdown = CancellationToken::new();
        let hub = Arc::new(MemoryHub::new(config.event_buffer));
        let bus: Arc<dyn EventBus> = match wakes {
            None => hub,
            Some(wakes) => {
                follow(wakes, Arc::clone(&log), Arc::clone(&hub), shutdown.clone());
                Arc::new(FollowedHub::new(hub))
            }
        };
        let recorder = Arc::new(Recorder::new(Arc::clone(&repo), Arc::clone(&bus)));
        let jobs = Arc::new(Jobs::start(
            config.workers(),
            worker_context(
                Arc::clone(&recorder),
                Arc::clone(&blobs),
                config.job_timeout,
                config.sandbox()?,
                config.ocr()?,
                (queue, config.job_lease),
            ),
            shutdown.clone(),
        ));
        let sessions_ended = broadcast::Sender::new(64);
        let holds = Arc::new(Holds::new(shared_limits.clone()));
        if let Some(signals) = signals {
            super::signals::follow(
                signals,
                Arc::clone(&jobs),
                Arc::clone(&holds),
                sessions_ended.clone(),
                shutdown.clone(),
            );
        }
        let trusted_proxies = Arc::new(config.trusted_proxies.clone());
        let admission = Admission::new(
            config.max_connections(),
            config.max_connections_per_client,
            Arc::clone(&trusted_proxies),
        );
        let limits = Arc::new(config.limits());
        let uploads = Uploads {
            repo: Arc::clone(&repo),
            log: Arc::clone(&log),
            blobs: Arc::clone(&blobs),
            recorder: Arc::clone(&recorder),
            jobs: Arc::clone(&jobs),
            quotas: Arc::clone(&quotas),
            limits: Arc::clone(&limits),
            max_upload_bytes: config.max_upload_bytes,
            resumable,
            holds,
            digests: Arc::default(),
        };
        let state = Self {
            limits,
            uploads,
            log,
            account_limits: Arc::new(AccountLimits::new(
                config.registrations_per_hour,
                shared_limits.clone(),
            )),
            password_queue: Arc::new(PasswordQueue::new(config.password_queue)),
            streams: Arc::new(StreamSlots::new(config.user_max_streams, shared_limits)),
            admission,
            trusted_proxies,
            config: Arc::new(config),
            repo,
            blobs,
            bus,
            recorder,
            accounts,
            token_key,
            quotas,
            jobs,
            shutdown,
            sessions_ended,
            stalled_connections: Arc::new(watch::Sender::new(0)),
            leptos_options,
        };
        state.recover(true).await?;
        state.sweep_orphans().await?;
        if state.config.database_url.is_some() {
            state.start_recovery_sweeps();
        }
        state.start_compaction();
        Ok(state)
    }

    /// Removes the events of uploads that finished longer than `UPLINK_EVENT_RETENTION`
    /// ago; returns how many.
    pub async fn compact_events(&self) -> Result<u64, StoreError> {
        let retention = chrono::Duration::from_std(self.config.event_retention)
            .unwrap_or(chrono::Duration::MAX);
        let cutoff = chrono::Utc::now()
            .checked_sub_signed(retention)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.log.compact(&cutoff).await
    }

    /// Compacts now and then every hour, until shutdown; also forgets expired sessions
    /// and removes resumable uploads left unfinished past their expiry.
    fn start_compaction(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = state.shutdown.cancelled() => return,
                    _ = every.tick() => {}
                }
                match state.compact_events().await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "compacted the event log"),
                    Err(error) => tracing::error!(%error, "compacting the event log failed"),
                }
                if let Err(error) = state.accounts.delete_expired_sessions(&clock::now()).await {
                    tracing::error!(%error, "removing expired sessions failed");
                }
                match crate::uploads::resumable::remove_expired(&state.uploads).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "removed expired resumable uploads"),
                    Err(error) => tracing::error!(%error, "removing expired uploads failed"),
                }
            }
        });
    }

    pub fn stream_deps(&self) -> StreamDeps {
        StreamDeps {
            log: Arc::clone(&self.log),
            bus: Arc::clone(&self.bus),
            shutdown: self.shutdown.clone(),
            keep_alive: self.config.sse_keepalive,
            sessions_ended: self.sessions_ended.clone(),
        }
    }

    /// Ends a session: it can no longer be used, and the streams it opened close.
    pub async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.accounts.delete_session(token_hash).await?;
        // No receivers (no open streams) is not an error.
        let _ = self.sessions_ended.send(token_hash.into());
        Ok(())
    }
}
