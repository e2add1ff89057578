//! The core every other module stands on, and which stands on `shared` alone: the rules
//! of an upload's life, the event as it is logged and framed, and the server's clock.
//!
//! Nothing here does I/O, so the rules hold whichever store records a change, and a
//! new backend is written against these types without touching the layers above.

pub mod clock;
mod event;
pub mod lifecycle;
pub mod slots;

pub use event::{encode, StoredEvent};
pub use lifecycle::{Change, Refused};
