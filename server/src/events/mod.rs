//! The life of an event after the domain made it: recorded durably (which assigns its
//! id), fanned out in memory (on several nodes, after the shared log says it committed),
//! and framed for every SSE stream that has it in scope.

mod follower;
mod hub;
mod places;
mod recorder;
mod stream;

pub use follower::{follow, FollowedHub};
pub use hub::{Delivery, EventBus, MemoryHub, Subscription};
pub use places::{StreamPlace, StreamSlots};
pub use recorder::Recorder;
pub use stream::{event_stream, StreamDeps, StreamRequest, RETRY_MS};
