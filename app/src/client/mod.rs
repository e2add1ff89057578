//! Browser-only clients: the EventSource that carries every upload's events, and the
//! XMLHttpRequest sender that reports bytes sent (fetch cannot).

pub mod actions;
pub mod auth;
pub mod events;
pub mod upload;
