//! The rules of a card, free of Leptos: what the server last said about an upload and
//! how each event folds in ([`ServerState`]), where this page's sending of it stands
//! ([`Sending`]), and what the card says from both ([`phase`]). The board wraps them in
//! signals; the tests here need no reactive owner.

mod phase;
#[cfg(test)]
pub(crate) mod samples;
mod state;

pub use phase::{phase, Phase, Retry, Shown};
pub use state::{Sending, ServerState};
