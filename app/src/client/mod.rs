//! What the dashboard asks of the browser: the EventSource that carries every upload's
//! events, the XMLHttpRequest sender that reports bytes sent (fetch cannot), the
//! accounts and actions APIs, and the clock.
//!
//! Compiled on both sides with one shape: the real clients in the browser
//! (`browser/`), and inert stand-ins on the server (`inert.rs`). Server rendering runs
//! no event handler and no effect, so nothing calls the stand-ins; they let components
//! use one API with no feature gates.

#[cfg(feature = "hydrate")]
mod browser;
#[cfg(not(feature = "hydrate"))]
mod inert;

#[cfg(feature = "hydrate")]
pub use browser::{actions, auth, clock, drop, events, upload};
#[cfg(not(feature = "hydrate"))]
pub use inert::{actions, auth, clock, drop, events, upload};
