//! In-memory fan-out of recorded events to the streams that are open now, one channel
//! per account: an event wakes only the streams of the account it belongs to.
//!
//! One channel for everybody woke every open stream for every event, only for all but a
//! few to find it was someone else's: with 10,000 streams, 1,000 events a second meant
//! ten million wake-ups a second, and the server fell behind at 50 events a second
//! (`make bench`, fan-out). A channel exists while its account has a stream open.
//!
//! The hub may drop events for a subscriber that falls behind (`Lagged`): streams then
//! re-read what they missed from the durable log, so the hub never has to buffer much.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast::{self, error::RecvError};

use crate::domain::StoredEvent;

/// The event bus: the in-memory hub on one node; on several nodes the same hub, fed
/// from the shared log by the [`follower`](super::follower) instead of by the recorder.
pub trait EventBus: Send + Sync + 'static {
    /// Hands an already-recorded event to every current subscriber of its owner.
    fn publish(&self, event: Arc<StoredEvent>);
    /// The events of `owner`'s uploads, from now on.
    fn subscribe(&self, owner: &str) -> Subscription;
}

/// What a channel carries: an event, or word that its subscribers must read what they
/// may have missed from the log (as when they fall behind).
#[derive(Clone)]
pub enum Delivery {
    Event(Arc<StoredEvent>),
    CatchUp,
}

/// A subscriber's place in one account's channel.
pub struct Subscription {
    /// Only `None` while being dropped.
    receiver: Option<broadcast::Receiver<Delivery>>,
    /// Called once the receiver is gone, so the bus can drop a channel nobody reads.
    leave: Option<Box<dyn FnOnce() + Send>>,
}

impl Subscription {
    pub fn new(
        receiver: broadcast::Receiver<Delivery>,
        leave: impl FnOnce() + Send + 'static,
    ) -> Self {
        Self { receiver: Some(receiver), leave: Some(Box::new(leave)) }
    }

    /// The next event, or `Lagged` when some were dropped for this subscriber or may
    /// have been missed: the log has them.
    pub async fn recv(&mut self) -> Result<Arc<StoredEvent>, RecvError> {
        match &mut self.receiver {
            Some(receiver) => match receiver.recv().await? {
                Delivery::Event(event) => Ok(event),
                Delivery::CatchUp => Err(RecvError::Lagged(0)),
            },
            None => Err(RecvError::Closed),
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Result<Arc<StoredEvent>, broadcast::error::TryRecvError> {
        match &mut self.receiver {
            Some(receiver) => match receiver.try_recv()? {
                Delivery::Event(event) => Ok(event),
                Delivery::CatchUp => Err(broadcast::error::TryRecvError::Lagged(0)),
            },
            None => Err(broadcast::error::TryRecvError::Closed),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The receiver goes first, so the bus counts it out when it looks.
        drop(self.receiver.take());
        if let Some(leave) = self.leave.take() {
            leave();
        }
    }
}

type Channel = broadcast::Sender<Delivery>;

struct Channels {
    /// Events kept per account for subscribers that fall behind.
    capacity: usize,
    by_owner: Mutex<HashMap<Arc<str>, Channel>>,
}

impl Channels {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Channel>> {
        // Nothing panics while holding it; a poisoned map is still a consistent map.
        self.by_owner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One bounded broadcast channel per account with a stream open: an event costs one
/// `Arc` per subscriber of its account, not a copy, and wakes nobody else.
pub struct MemoryHub {
    channels: Arc<Channels>,
}

impl MemoryHub {
    /// `capacity`: events buffered per account (at least one).
    pub fn new(capacity: usize) -> Self {
        let channels = Channels { capacity: capacity.max(1), by_owner: Mutex::default() };
        Self { channels: Arc::new(channels) }
    }

    /// Accounts with a channel now (tests: channels go when their last stream does).
    pub fn channels(&self) -> usize {
        self.channels.lock().len()
    }

    /// Whether `owner` has a stream open here.
    pub fn has_subscribers(&self, owner: &str) -> bool {
        self.channels.lock().contains_key(owner)
    }

    /// The accounts with a stream open here.
    pub fn owners(&self) -> Vec<Arc<str>> {
        self.channels.lock().keys().cloned().collect()
    }

    /// Tells `owner`'s open streams to read what they may have missed from the log.
    pub fn catch_up(&self, owner: &str) {
        if let Some(channel) = self.channels.lock().get(owner) {
            let _ = channel.send(Delivery::CatchUp);
        }
    }
}

impl EventBus for MemoryHub {
    fn publish(&self, event: Arc<StoredEvent>) {
        // No subscribers is not an error: the log has the event for later readers.
        if let Some(channel) = self.channels.lock().get(&event.owner) {
            let _ = channel.send(Delivery::Event(event));
        }
    }

    fn subscribe(&self, owner: &str) -> Subscription {
        let owner: Arc<str> = owner.into();
        let receiver = {
            let mut channels = self.channels.lock();
            let capacity = self.channels.capacity;
            channels
                .entry(Arc::clone(&owner))
                .or_insert_with(|| broadcast::channel(capacity).0)
                .subscribe()
        };
        let channels = Arc::clone(&self.channels);
        Subscription::new(receiver, move || {
            let mut map = channels.lock();
            if map.get(&owner).is_some_and(|channel| channel.receiver_count() == 0) {
                map.remove(&owner);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::UploadId;

    fn event(seq: i64, owner: &str) -> Arc<StoredEvent> {
        let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-0000000000aa").unwrap();
        Arc::new(StoredEvent::from_parts(seq, id, owner.into(), "progress", "{}"))
    }

    #[tokio::test]
    async fn an_event_reaches_its_owners_subscribers_only() {
        let hub = MemoryHub::new(8);
        let (mut ada, mut ada_too, mut bob) =
            (hub.subscribe("ada"), hub.subscribe("ada"), hub.subscribe("bob"));
        hub.publish(event(1, "ada"));
        hub.publish(event(2, "bob"));
        hub.publish(event(3, "carol"));
        assert_eq!(ada.recv().await.unwrap().id, 1);
        assert_eq!(ada_too.recv().await.unwrap().id, 1);
        assert_eq!(bob.recv().await.unwrap().id, 2);
        assert!(ada.try_recv().is_err(), "only its own");
    }

    #[tokio::test]
    async fn a_channel_lives_while_its_account_has_a_subscriber() {
        let hub = MemoryHub::new(8);
        let first = hub.subscribe("ada");
        let second = hub.subscribe("ada");
        let other = hub.subscribe("bob");
        assert_eq!(hub.channels(), 2);
        drop(first);
        assert_eq!(hub.channels(), 2, "ada still has a subscriber");
        drop(second);
        assert_eq!(hub.channels(), 1);
        drop(other);
        assert_eq!(hub.channels(), 0);
        // Publishing to nobody neither fails nor makes a channel.
        hub.publish(event(1, "ada"));
        assert_eq!(hub.channels(), 0);
    }

    #[tokio::test]
    async fn catching_up_reaches_the_accounts_subscribers_as_a_lag() {
        let hub = MemoryHub::new(8);
        let (mut ada, mut bob) = (hub.subscribe("ada"), hub.subscribe("bob"));
        assert!(hub.has_subscribers("ada") && !hub.has_subscribers("carol"));
        hub.catch_up("ada");
        assert!(matches!(ada.recv().await, Err(RecvError::Lagged(0))));
        assert!(bob.try_recv().is_err(), "only ada's");
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_so() {
        let hub = MemoryHub::new(2);
        let mut slow = hub.subscribe("ada");
        for seq in 1..=5 {
            hub.publish(event(seq, "ada"));
        }
        assert!(matches!(slow.recv().await, Err(RecvError::Lagged(_))));
    }
}
