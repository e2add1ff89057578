//! How nodes wake each other. Every change's transaction sends a `NOTIFY` naming the
//! account and the event id it appended (and the job queue one for each job pushed or to
//! be stopped), delivered to every listening node when (and
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
/// The channel of the job queue: a job was pushed, or a job must stop wherever it runs.
const JOBS: &str = "uplink_jobs";

/// Notifications buffered for a node's follower; past that the listener stops reading
/// and PostgreSQL queues them.
const BUFFER: usize = 1024;

/// What wakes a node's streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// `owner`'s event `id` committed, on whichever node.
    Appended { owner: Arc<str>, id: i64 },
    /// The listener (re)connected: notifications may have been lost before this, so
    /// whatever follows the log must catch up from it.
    Listening,
}

/// What wakes a node's workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSignal {
    /// A job was queued (or the listener reconnected, and one may have been): idle
    /// workers look at the queue.
    Pushed,
    /// Whoever runs the job for this upload stops it (cancelled or deleted).
    Stop(UploadId),
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
    send(conn, JOBS, "pushed").await
}

/// Tells every node to stop the job of `upload` if it runs it.
pub(super) async fn stop_job(conn: &mut PgConnection, upload: &UploadId) -> Result<(), StoreError> {
    send(conn, JOBS, &format!("stop {upload}")).await
}

async fn send(conn: &mut PgConnection, channel: &str, payload: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(conn).await?;
    Ok(())
}

fn parse_event(payload: &str) -> Option<Wake> {
    let (id, owner) = payload.split_once(' ')?;
    Some(Wake::Appended { owner: owner.into(), id: id.parse().ok()? })
}

fn parse_job(payload: &str) -> Option<JobSignal> {
    match payload.split_once(' ') {
        None if payload == "pushed" => Some(JobSignal::Pushed),
        Some(("stop", id)) => UploadId::parse(id).map(JobSignal::Stop),
        _ => None,
    }
}

impl PgRepo {
    /// Every event appended from now on, by any node, as it commits; `Listening` first
    /// and after every reconnection. Listens until the receiver is dropped.
    pub fn wakes(&self) -> mpsc::Receiver<Wake> {
        self.listen(EVENTS, parse_event, Wake::Listening)
    }

    /// Every job pushed and every job to stop, from now on, by any node; `Pushed` first
    /// and after every reconnection. Listens until the receiver is dropped.
    pub fn job_signals(&self) -> mpsc::Receiver<JobSignal> {
        self.listen(JOBS, parse_job, JobSignal::Pushed)
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
            let mut backoff = Duration::from_millis(100);
            while !sender.is_closed() {
                let connecting = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(channel).await?;
                    Ok::<_, sqlx::Error>(listener)
                };
                let mut listener = match connecting.await {
                    Ok(listener) => listener,
                    Err(error) => {
                        // The database is away (restarting, unreachable): try again,
                        // less often the longer it stays away.
                        tracing::warn!(%error, channel, "listening to the other nodes failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                backoff = Duration::from_millis(100);
                if sender.send(listening.clone()).await.is_err() {
                    return;
                }
                loop {
                    let received = tokio::select! {
                        received = listener.try_recv() => received,
                        () = sender.closed() => return,
                    };
                    match received {
                        Ok(Some(notification)) => {
                            let Some(signal) = parse(notification.payload()) else {
                                tracing::warn!(
                                    payload = notification.payload(),
                                    channel,
                                    "a notification that is not ours"
                                );
                                continue;
                            };
                            if sender.send(signal).await.is_err() {
                                return;
                            }
                        }
                        // The connection was lost: a new one, then `listening` again.
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!(%error, channel, "a listening connection failed");
                            break;
                        }
                    }
                }
                tracing::warn!(channel, "lost a listening connection; reconnecting");
            }
        });
        receiver
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
    fn a_job_signal_is_a_push_or_a_stop() {
        let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-000000000001").unwrap();
        assert_eq!(parse_job("pushed"), Some(JobSignal::Pushed));
        assert_eq!(parse_job(&format!("stop {id}")), Some(JobSignal::Stop(id)));
        assert_eq!(parse_job("stop nonsense"), None);
        assert_eq!(parse_job("other"), None);
    }
}
