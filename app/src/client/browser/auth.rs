//! The accounts API from the browser: log in or register, log out, and ask whether the
//! session still holds.

use gloo_net::http::Request;
use shared::{routes, Credentials, User};

use super::{refusal, UNREACHABLE};

/// Which of the two forms is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    Register,
}

impl Action {
    fn path(self) -> &'static str {
        match self {
            Self::Login => routes::LOGIN,
            Self::Register => routes::REGISTER,
        }
    }
}

/// Sends the credentials; the username the server knows the account by, or the message
/// to show.
pub async fn submit(action: Action, username: &str, password: &str) -> Result<String, String> {
    let body = Credentials { username: username.to_owned(), password: password.to_owned() };
    let request = Request::post(action.path()).json(&body).map_err(|e| e.to_string())?;
    let response = request.send().await.map_err(|_| UNREACHABLE.to_owned())?;
    let text = response.text().await.unwrap_or_default();
    if response.ok() {
        let user = serde_json::from_str::<User>(&text).map(|user| user.username);
        return Ok(user.unwrap_or_else(|_| username.to_owned()));
    }
    Err(refusal(&text, response.status()))
}

/// Ends the session on the server (the server also ends its event streams).
pub async fn logout() {
    let _ = Request::post(routes::LOGOUT).send().await;
}

/// `Some(false)` when the server says the session is gone; `None` when it cannot be
/// reached (then the session may well be fine).
pub async fn session_holds() -> Option<bool> {
    let response = Request::get(routes::ME).send().await.ok()?;
    match response.status() {
        200 => Some(true),
        401 => Some(false),
        _ => None,
    }
}

/// Full navigation: the next page is rendered by the server for the new session.
pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
}
