//! Who is using the dashboard, and whether their session still holds. When it ends
//! (expired, or logged out in another tab), the dashboard stays as it is, uploads
//! waiting to be sent wait, and a sign-in dialog appears over it; signing in again
//! resumes the queue and the event stream where they stopped.

use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct Session {
    pub username: RwSignal<String>,
    /// The server refused the session: show the sign-in dialog, pause the senders.
    pub lost: RwSignal<bool>,
}

impl Session {
    pub fn new(username: String) -> Self {
        Self { username: RwSignal::new(username), lost: RwSignal::new(false) }
    }
}
