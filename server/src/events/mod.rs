//! The life of an event after the domain made it: recorded durably (which assigns its
//! id), fanned out in memory, and framed for every SSE stream that has it in scope.

mod hub;
mod places;
mod recorder;
mod stream;

pub use hub::{EventBus, MemoryHub, Subscription};
pub use places::{StreamPlace, StreamSlots};
pub use recorder::Recorder;
pub use stream::{event_stream, StreamDeps, StreamRequest, RETRY_MS};
