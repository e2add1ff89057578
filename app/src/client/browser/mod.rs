//! The clients as the browser runs them.

pub mod actions;
pub mod auth;
pub mod clock;
pub mod drop;
pub mod events;
mod transfer;
pub mod tus;
pub mod upload;

/// What to show when no answer came at all.
const UNREACHABLE: &str = "the server cannot be reached";

/// The message of a refused request: the server's own `{code, message}`, or its status
/// when the body is not one (a proxy's error page).
fn refusal(body: &str, status: u16) -> String {
    serde_json::from_str::<shared::ErrorBody>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| format!("the server answered {status}"))
}
