//! On several nodes, a node's streams learn of events from the shared log, whichever
//! node committed them: the database wakes the follower with each event's account and
//! id, and the follower reads that account's new events from the log once for the node
//! and hands them to the hub, in id order. The recorder publishes nothing itself here:
//! an event of this node published directly could overtake an earlier one of another
//! node, and a stream skips what is older than what it has sent.
//!
//! A lost wake-up only delays: when the listener reconnects, the follower reads on from
//! where it was for every account it follows, and the streams of any other account catch
//! up from the log on their own, from the last id each sent.

use std::{collections::HashMap, sync::Arc};

use shared::AccountId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{EventBus, MemoryHub, Subscription};
use crate::{
    domain::StoredEvent,
    store::{EventLog, Scope, Wake},
};

/// Events read from the log per query while following one account.
const BATCH: u32 = 512;

/// The bus of a node that shares its log: subscribing is the hub's, publishing is the
/// follower's alone.
pub struct FollowedHub {
    hub: Arc<MemoryHub>,
}

impl FollowedHub {
    pub fn new(hub: Arc<MemoryHub>) -> Self {
        Self { hub }
    }
}

impl EventBus for FollowedHub {
    fn publish(&self, _event: Arc<StoredEvent>) {
        // The follower publishes it once the database says it committed.
    }

    fn subscribe(&self, owner: &str) -> Subscription {
        self.hub.subscribe(owner)
    }
}

/// Follows the log for the accounts with streams open on this node, until `shutdown`.
pub fn follow(
    mut wakes: mpsc::Receiver<Wake>,
    log: Arc<dyn EventLog>,
    hub: Arc<MemoryHub>,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        // The last id handed to the hub per account being followed.
        let mut cursors: HashMap<Arc<str>, i64> = HashMap::new();
        loop {
            let wake = tokio::select! {
                () = shutdown.cancelled() => return,
                wake = wakes.recv() => match wake {
                    Some(wake) => wake,
                    None => return,
                },
            };
            match wake {
                Wake::Listening => {
                    // Whatever committed while nobody listened is in the log. An account
                    // followed so far is read on from its cursor, once for all its
                    // streams; the streams of one not followed yet read it each from
                    // their own last id. From here on every event has its wake-up.
                    cursors.retain(|owner, _| hub.has_subscribers(owner));
                    for owner in hub.owners() {
                        if cursors.contains_key(&owner) {
                            read_on(&*log, &hub, &mut cursors, &owner).await;
                        } else {
                            hub.catch_up(&owner);
                        }
                    }
                }
                Wake::Appended { owner, id } => {
                    if !hub.has_subscribers(&owner) {
                        cursors.remove(&owner);
                        continue;
                    }
                    // An account seen for the first time: its streams started from the
                    // log after subscribing, so they have everything before this event.
                    let cursor = *cursors.entry(Arc::clone(&owner)).or_insert(id - 1);
                    if id > cursor {
                        read_on(&*log, &hub, &mut cursors, &owner).await;
                    }
                }
            }
        }
    });
}

/// Hands `owner`'s events after its cursor to the hub. If the log cannot be read, the
/// account is no longer followed and its streams read the log themselves (and fail on
/// their own if it stays unreadable: their clients reconnect).
async fn read_on(
    log: &dyn EventLog,
    hub: &MemoryHub,
    cursors: &mut HashMap<Arc<str>, i64>,
    owner: &Arc<str>,
) {
    let Some(cursor) = cursors.get_mut(owner) else { return };
    if let Err(error) = publish_after(log, hub, owner, cursor).await {
        tracing::error!(%error, "reading the shared event log failed");
        cursors.remove(owner);
        hub.catch_up(owner);
    }
}

/// Hands `owner`'s events after `cursor` to the hub, moving the cursor past them.
async fn publish_after(
    log: &dyn EventLog,
    hub: &MemoryHub,
    owner: &str,
    cursor: &mut i64,
) -> Result<(), crate::store::StoreError> {
    let scope = Scope::account(AccountId::new(owner));
    loop {
        let batch = log.events_after(&scope, *cursor, BATCH).await?;
        let full = batch.len() == BATCH as usize;
        for event in batch {
            *cursor = event.id;
            hub.publish(Arc::new(event));
        }
        if !full {
            return Ok(());
        }
    }
}
