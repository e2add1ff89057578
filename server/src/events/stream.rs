//! One SSE stream: `retry:`, then either a replay of the log after the client's
//! Last-Event-ID or a snapshot of the present state, then live events, with keep-alive
//! comments while idle. Ends after a terminal event (per-upload streams), when the
//! session it was opened with ends (logout), when the server shuts down, or when the
//! client goes away.

use std::{convert::Infallible, sync::Arc, time::Duration};

use async_stream::stream;
use bytes::Bytes;
use futures_util::Stream;
use shared::{sse, UploadStatus};
use tokio::{
    sync::broadcast::{self, error::RecvError},
    time::interval_at,
};
use tokio_util::sync::CancellationToken;

use super::EventBus;
use crate::{
    domain::{
        lifecycle::{event_for, Detail},
        StoredEvent,
    },
    store::{EventLog, Scope, Snapshot},
};

/// How long a browser waits before reconnecting, sent first on every stream.
pub const RETRY_MS: u32 = 2_000;

/// How many logged events one catch-up read fetches at a time.
const REPLAY_BATCH: u32 = 512;

/// What a client asked for.
#[derive(Debug, Clone)]
pub struct StreamRequest {
    pub scope: Scope,
    /// Replay the log after this id; `None` starts from a snapshot of the present.
    pub last_event_id: Option<i64>,
    /// Stop after the first terminal event (streams about one upload).
    pub end_on_terminal: bool,
    /// The session (its token hash) that opened the stream; the stream ends with it.
    /// `None` for streams opened with an events token, which simply expire.
    pub session: Option<String>,
}

/// What a stream needs from the server.
#[derive(Clone)]
pub struct StreamDeps {
    pub log: Arc<dyn EventLog>,
    pub bus: Arc<dyn EventBus>,
    pub shutdown: CancellationToken,
    pub keep_alive: Duration,
    /// The token hash of every session that ends (logout, or a new login replacing it).
    pub sessions_ended: broadcast::Sender<Arc<str>>,
}

/// The snapshot event for an upload: its present state under its newest event's id.
fn snapshot_event(id: i64, owner: &str, upload: &shared::Upload) -> StoredEvent {
    let detail = Detail {
        bytes_received: (upload.status == UploadStatus::Uploading).then_some(upload.size),
        introduce: true,
        ..Detail::default()
    };
    StoredEvent::new(id, owner.into(), &event_for(upload, &detail, &upload.updated_at))
}

/// Where a stream begins: after a logged id, or with the present state.
enum Start {
    After(i64),
    Snapshot(Snapshot),
}

enum Next {
    Event(Arc<StoredEvent>),
    CatchUp,
    KeepAlive,
    Stop,
    Nothing,
}

pub fn event_stream(
    deps: StreamDeps,
    request: StreamRequest,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    stream! {
        let StreamRequest { scope, last_event_id, end_on_terminal, session } = request;
        // Subscribe before reading the log, so nothing committed after the read is missed.
        let mut live = deps.bus.subscribe(scope.owner().as_str());
        let mut ended = deps.sessions_ended.subscribe();

        // An id this log never handed out (another server's, or from before a reset),
        // or one from before the retention horizon, cannot be resumed from: such a
        // client gets the present state instead. `0` asks for all that is retained.
        let mut known_horizon = 0;
        let last_event_id = match last_event_id {
            Some(after) => match deps.log.log_bounds(scope.owner()).await {
                Ok((horizon, head)) => {
                    known_horizon = horizon;
                    (after <= head && (after == 0 || after >= horizon)).then_some(after)
                }
                Err(error) => {
                    tracing::error!(%error, "reading the event log bounds failed");
                    return;
                }
            },
            None => None,
        };
        let start = match last_event_id {
            Some(after) => Start::After(after),
            None => match deps.log.snapshot(&scope).await {
                Ok(snapshot) => Start::Snapshot(snapshot),
                Err(error) => {
                    tracing::error!(%error, "snapshot for an event stream failed");
                    return;
                }
            },
        };
        // `retry:` goes out only once the stream is subscribed and knows where it starts,
        // so a client that has read it misses nothing committed afterwards.
        yield Ok(Bytes::from(sse::retry_frame(RETRY_MS)));
        let mut last_sent = match start {
            Start::After(after) => after,
            Start::Snapshot(snapshot) => {
                for (id, upload) in &snapshot.uploads {
                    let event = snapshot_event(*id, scope.owner().as_str(), upload);
                    yield Ok(event.frame.clone());
                    if end_on_terminal && event.terminal {
                        return;
                    }
                }
                snapshot.head
            }
        };
        let mut catching_up = last_event_id.is_some();

        let mut keep_alive = interval_at(tokio::time::Instant::now() + deps.keep_alive, deps.keep_alive);
        loop {
            if catching_up {
                let read = async {
                    let batch = deps.log.events_after(&scope, last_sent, REPLAY_BATCH).await?;
                    Ok::<_, crate::store::StoreError>((batch, deps.log.log_bounds(scope.owner()).await?.0))
                };
                match read.await {
                    // Compaction removed events past what this stream has sent since it
                    // began: some of them may be the stream's next ones, and sending this
                    // batch could skip them unseen. Ending instead makes the client
                    // reconnect from its last id, which is now behind the horizon, so it
                    // gets the present state: never a silent gap. (The horizon may be the
                    // whole log's, so compacting others' uploads can end a replay that
                    // lost nothing; its client then gets a snapshot, which is never wrong.)
                    Ok((_, horizon)) if horizon > last_sent.max(known_horizon) => {
                        tracing::info!(last_sent, horizon, "compaction overtook a replay; ending the stream");
                        return;
                    }
                    Ok((batch, _)) => {
                        catching_up = batch.len() == REPLAY_BATCH as usize;
                        for event in batch {
                            last_sent = event.id;
                            yield Ok(event.frame.clone());
                            if end_on_terminal && event.terminal {
                                return;
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "replaying the event log failed");
                        return;
                    }
                }
                continue;
            }
            let next = tokio::select! {
                biased;
                _ = deps.shutdown.cancelled() => Next::Stop,
                received = live.recv() => match received {
                    Ok(event) => Next::Event(event),
                    // Fell behind the in-memory buffer: the log has everything.
                    Err(RecvError::Lagged(_)) => Next::CatchUp,
                    Err(RecvError::Closed) => Next::Stop,
                },
                _ = keep_alive.tick() => Next::KeepAlive,
                gone = ended.recv(), if session.is_some() => match gone {
                    Ok(hash) if session.as_deref() == Some(&*hash) => Next::Stop,
                    // Logouts are rare; if this stream ever missed one, the next request
                    // with that cookie is refused anyway.
                    Ok(_) | Err(RecvError::Lagged(_)) => Next::Nothing,
                    Err(RecvError::Closed) => Next::Stop,
                },
            };
            match next {
                Next::Event(event) => {
                    if event.id <= last_sent || !scope.contains(&event) {
                        continue;
                    }
                    last_sent = event.id;
                    yield Ok(event.frame.clone());
                    if end_on_terminal && event.terminal {
                        return;
                    }
                    keep_alive.reset();
                }
                Next::CatchUp => catching_up = true,
                Next::KeepAlive => yield Ok(Bytes::from_static(sse::KEEP_ALIVE.as_bytes())),
                Next::Stop => return,
                Next::Nothing => {}
            }
        }
    }
}
