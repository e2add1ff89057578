//! How nodes wake each other. Every change's transaction sends a `NOTIFY` naming the
//! account and the event id it appended (and one for each job pushed or to be stopped,
//! and each session ended), delivered to every listening node when (and
//! only if) the change commits, in commit order. A notification is only a wake-up: the
//! events themselves are read from the log, and after the listening connection is lost
//! (a network cut, `pg_terminate_backend`, a restart of PostgreSQL) the node is told so,
//! reconnects, and its streams catch up from the log; a lost notification only delays.

use std::{sync::Arc, time::Duration};

use sqlx::{postgres::PgListener, PgConnection};
use tokio::sync::mpsc;

use shared::UploadId;

use super::PgRepo;
use crate::store::StoreError;

/// The channel of appended events.
const EVENTS: &str = "uplink_events";
/// The channel of what the nodes tell each other besides events: a job was pushed, a job
/// must stop wherever it runs, a session ended.
const SIGNALS: &str = "uplink_signals";

/// Notifications buffered for a node's follower. Past that the listener stops reading
/// and PostgreSQL queues them in its notification queue, shared by the whole cluster: a
/// follower stalled for good would fill it, and then every change on every node would
/// fail. The follower only reads the log and hands events on, so it keeps up.
const BUFFER: usize = 1024;

/// How often a quiet listening connection is checked, and how long the check may take.
/// A connection that dies without a word (a firewall or NAT forgetting it, a failover)
/// never ends the wait for the next notification: only a query finds it out.
const HEARTBEAT: Duration = Duration::from_secs(10);
const HEARTBEAT_DEADLINE: Duration = Duration::from_secs(5);

/// The pause before listening again, doubled after each failure up to the maximum, and
/// back to the minimum once a connection has proven itself (a notification, a heartbeat).
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What wakes a node's streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// `owner`'s event `id` committed, on whichever node.
    Appended { owner: Arc<str>, id: i64 },
    /// The listener (re)connected: notifications may have been lost before this, so
    /// whatever follows the log must catch up from it.
    Listening,
}

/// What a node acts on besides events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A job was queued (or the listener reconnected, and one may have been): idle
    /// workers look at the queue.
    JobPushed,
    /// Whoever runs the job for this upload, at this attempt or before, stops it
    /// (cancelled or deleted; a retry's run goes on).
    StopJob(UploadId, u32),
    /// The session or API token with this hash ended: the streams it opened end.
    SessionEnded(Arc<str>),
    /// Another node's request wants this resumable upload: whichever request holds it
    /// here saves what it has and lets go.
    LetGo(UploadId),
    /// A request let go of this resumable upload: requests waiting for it try again.
    LetGoOf(UploadId),
}

/// Announces event `id` of `owner` when the transaction on `conn` commits.
pub(super) async fn notify(
    conn: &mut PgConnection,
    owner: &str,
    id: i64,
) -> Result<(), StoreError> {
    send(conn, EVENTS, &format!("{id} {owner}")).await
}

/// Wakes every node's idle workers when the transaction on `conn` commits.
pub(super) async fn job_pushed(conn: &mut PgConnection) -> Result<(), StoreError> {
    send(conn, SIGNALS, "pushed").await
}

/// Tells every node to stop the job of `upload` if it runs attempt `attempt` or before.
pub(super) async fn stop_job(
    conn: &mut PgConnection,
    upload: &UploadId,
    attempt: u32,
) -> Result<(), StoreError> {
    send(conn, SIGNALS, &format!("stop {upload} {attempt}")).await
}

/// Asks whichever node holds resumable upload `upload` to let go of it (see `Signal::LetGo`).
pub(super) async fn let_go(conn: &mut PgConnection, upload: &UploadId) -> Result<(), StoreError> {
    send(conn, SIGNALS, &format!("letgo {upload}")).await
}

/// Tells every node that resumable upload `upload` was let go of.
pub(super) async fn let_go_of(
    conn: &mut PgConnection,
    upload: &UploadId,
) -> Result<(), StoreError> {
    send(conn, SIGNALS, &format!("released {upload}")).await
}

/// Tells every node that the session (or API token) with this hash ended.
pub(super) async fn session_ended(conn: &mut PgConnection, hash: &str) -> Result<(), StoreError> {
    send(conn, SIGNALS, &format!("session {hash}")).await
}

async fn send(conn: &mut PgConnection, channel: &str, payload: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(conn).await?;
    Ok(())
}

fn parse_event(payload: &str) -> Option<Wake> {
    let (id, owner) = payload.split_once(' ')?;
    Some(Wake::Appended { owner: owner.into(), id: id.parse().ok()? })
}

fn parse_signal(payload: &str) -> Option<Signal> {
    match payload.split_once(' ') {
        None if payload == "pushed" => Some(Signal::JobPushed),
        Some(("stop", job)) => {
            let (id, attempt) = job.split_once(' ')?;
            Some(Signal::StopJob(UploadId::parse(id)?, attempt.parse().ok()?))
        }
        Some(("session", hash)) => Some(Signal::SessionEnded(hash.into())),
        Some(("letgo", id)) => Some(Signal::LetGo(UploadId::parse(id)?)),
        Some(("released", id)) => Some(Signal::LetGoOf(UploadId::parse(id)?)),
        _ => None,
    }
}

impl PgRepo {
    /// Every event appended from now on, by any node, as it commits; `Listening` first
    /// and after every reconnection. Listens until the receiver is dropped.
    pub fn wakes(&self) -> mpsc::Receiver<Wake> {
        self.listen(EVENTS, parse_event, Wake::Listening)
    }

    /// Every job pushed, job to stop and session ended, from now on, by any node;
    /// `JobPushed` first and after every reconnection (a session that ended meanwhile is
    /// refused at its next request anyway). Listens until the receiver is dropped.
    pub fn signals(&self) -> mpsc::Receiver<Signal> {
        self.listen(SIGNALS, parse_signal, Signal::JobPushed)
    }

    /// Listens on `channel` on a connection of its own, reconnecting whenever it is lost,
    /// and sends `listening` each time it (re)starts listening.
    fn listen<T: Clone + Send + 'static>(
        &self,
        channel: &'static str,
        parse: fn(&str) -> Option<T>,
        listening: T,
    ) -> mpsc::Receiver<T> {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut backoff = MIN_BACKOFF;
            while !sender.is_closed() {
                let connecting = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    // A lost connection ends the loop below, which reconnects itself, after
                    // a pause: sqlx reconnecting at once would skip both.
                    listener.eager_reconnect(false);
                    listener.listen(channel).await?;
                    Ok::<_, sqlx::Error>(listener)
                };
                match connecting.await {
                    Ok(mut listener) => {
                        if sender.send(listening.clone()).await.is_err() {
                            return;
                        }
                        match relay(&mut listener, channel, parse, &sender, &mut backoff).await {
                            Relay::ReceiverGone => return,
                            Relay::ConnectionLost => {
                                tracing::warn!(
                                    channel,
                                    "lost a listening connection; reconnecting"
                                );
                            }
                        }
                    }
                    // The database is away (restarting, unreachable).
                    Err(error) => {
                        tracing::warn!(%error, channel, "listening to the other nodes failed; retrying")
                    }
                }
                // Less often the longer it stays away, and never in a tight loop (a
                // server that ends idle sessions would otherwise make every stream of
                // the node catch up again and again).
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
        receiver
    }
}

/// How a listening connection's relay ended.
enum Relay {
    ReceiverGone,
    ConnectionLost,
}

/// Hands every notification `listener` receives on to `sender`, checking the connection
/// when it has been quiet for a heartbeat.
async fn relay<T>(
    listener: &mut PgListener,
    channel: &str,
    parse: fn(&str) -> Option<T>,
    sender: &mpsc::Sender<T>,
    backoff: &mut Duration,
) -> Relay {
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        let received = tokio::select! {
            // Cancel-safe: sqlx keeps a partly read message for the next call.
            received = listener.try_recv() => received,
            _ = heartbeat.tick() => {
                let check = sqlx::query("SELECT 1").execute(&mut *listener);
                match tokio::time::timeout(HEARTBEAT_DEADLINE, check).await {
                    Ok(Ok(_)) => *backoff = MIN_BACKOFF,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, channel, "a listening connection failed its heartbeat");
                        return Relay::ConnectionLost;
                    }
                    Err(_) => {
                        tracing::warn!(channel, "a listening connection did not answer its heartbeat");
                        return Relay::ConnectionLost;
                    }
                }
                continue;
            }
            () = sender.closed() => return Relay::ReceiverGone,
        };
        match received {
            Ok(Some(notification)) => {
                // The connection works: a quiet one is checked a heartbeat from now, and
                // one lost later is listened to again soon.
                heartbeat.reset();
                *backoff = MIN_BACKOFF;
                let Some(signal) = parse(notification.payload()) else {
                    tracing::warn!(
                        payload = notification.payload(),
                        channel,
                        "a notification that is not ours"
                    );
                    continue;
                };
                if sender.send(signal).await.is_err() {
                    return Relay::ReceiverGone;
                }
            }
            Ok(None) => return Relay::ConnectionLost,
            Err(error) => {
                tracing::warn!(%error, channel, "a listening connection failed");
                return Relay::ConnectionLost;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_names_the_id_then_the_owner() {
        let wake = parse_event("42 0191c1d2-6b0e-7a3c-9f00-000000000001");
        let owner: Arc<str> = "0191c1d2-6b0e-7a3c-9f00-000000000001".into();
        assert_eq!(wake, Some(Wake::Appended { owner, id: 42 }));
        assert_eq!(parse_event("nonsense"), None);
        assert_eq!(parse_event("x owner"), None);
    }

    #[test]
    fn a_signal_is_a_push_a_stop_or_a_session_end() {
        let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-000000000001").unwrap();
        assert_eq!(parse_signal("pushed"), Some(Signal::JobPushed));
        assert_eq!(parse_signal(&format!("stop {id} 2")), Some(Signal::StopJob(id, 2)));
        assert_eq!(parse_signal("session ab12"), Some(Signal::SessionEnded("ab12".into())));
        assert_eq!(parse_signal("stop nonsense"), None);
        assert_eq!(parse_signal("other"), None);
    }
}
