//! In-memory fan-out of recorded events to the streams that are open now.
//!
//! The hub may drop events for a subscriber that falls behind (`Lagged`): streams then
//! re-read what they missed from the durable log, so the hub never has to buffer much.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::StoredEvent;

/// The event bus: in memory now; Redis pub/sub or similar when Uplink runs on many nodes.
pub trait EventBus: Send + Sync + 'static {
    /// Hands an already-recorded event to every current subscriber.
    fn publish(&self, event: Arc<StoredEvent>);
    fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>>;
}

/// One bounded broadcast channel: an event costs one `Arc` per subscriber, not a copy.
pub struct MemoryHub {
    sender: broadcast::Sender<Arc<StoredEvent>>,
}

impl MemoryHub {
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity).0 }
    }
}

impl EventBus for MemoryHub {
    fn publish(&self, event: Arc<StoredEvent>) {
        // No subscribers is not an error: the log has the event for later readers.
        let _ = self.sender.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.sender.subscribe()
    }
}
