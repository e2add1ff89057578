//! How nodes wake each other: every change's transaction sends a `NOTIFY` naming the
//! account and the event id it appended, delivered to every listening node when (and
//! only if) the change commits, in commit order. A notification is only a wake-up: the
//! events themselves are read from the log, and after the listening connection is lost
//! (a network cut, `pg_terminate_backend`, a restart of PostgreSQL) the node is told so,
//! reconnects, and its streams catch up from the log; a lost notification only delays.

use std::{sync::Arc, time::Duration};

use sqlx::{postgres::PgListener, PgConnection};
use tokio::sync::mpsc;

use super::PgRepo;
use crate::store::StoreError;

/// The channel every node listens on.
const CHANNEL: &str = "uplink_events";

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

/// Announces event `id` of `owner` when the transaction on `conn` commits.
pub(super) async fn notify(
    conn: &mut PgConnection,
    owner: &str,
    id: i64,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("{id} {owner}"))
        .execute(conn)
        .await?;
    Ok(())
}

fn parse(payload: &str) -> Option<Wake> {
    let (id, owner) = payload.split_once(' ')?;
    Some(Wake::Appended { owner: owner.into(), id: id.parse().ok()? })
}

impl PgRepo {
    /// Every event appended from now on, by any node, as it commits; `Listening` first
    /// and after every reconnection. Listens until the receiver is dropped.
    pub fn wakes(&self) -> mpsc::Receiver<Wake> {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while !sender.is_closed() {
                let listening = async {
                    let mut listener = PgListener::connect_with(&pool).await?;
                    listener.listen(CHANNEL).await?;
                    Ok::<_, sqlx::Error>(listener)
                };
                let mut listener = match listening.await {
                    Ok(listener) => listener,
                    Err(error) => {
                        // The database is away (restarting, unreachable): try again,
                        // less often the longer it stays away.
                        tracing::warn!(%error, "listening for other nodes' events failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                backoff = Duration::from_millis(100);
                if sender.send(Wake::Listening).await.is_err() {
                    return;
                }
                loop {
                    let received = tokio::select! {
                        received = listener.try_recv() => received,
                        () = sender.closed() => return,
                    };
                    match received {
                        Ok(Some(notification)) => {
                            let Some(wake) = parse(notification.payload()) else {
                                tracing::warn!(
                                    payload = notification.payload(),
                                    "an event notification that is not ours"
                                );
                                continue;
                            };
                            if sender.send(wake).await.is_err() {
                                return;
                            }
                        }
                        // The connection was lost: a new one, then `Listening` again.
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!(%error, "the event listener's connection failed");
                            break;
                        }
                    }
                }
                tracing::warn!("lost the event listener's connection; reconnecting");
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
        let wake = parse("42 0191c1d2-6b0e-7a3c-9f00-000000000001");
        let owner: Arc<str> = "0191c1d2-6b0e-7a3c-9f00-000000000001".into();
        assert_eq!(wake, Some(Wake::Appended { owner, id: 42 }));
        assert_eq!(parse("nonsense"), None);
        assert_eq!(parse("x owner"), None);
    }
}
