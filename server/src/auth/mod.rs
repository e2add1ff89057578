//! Who is asking: accounts with argon2id passwords, server-side sessions behind an
//! `HttpOnly` cookie, personal API tokens for programs, login rate limits, and the
//! refusal of cross-site writes.

pub mod api_token;
pub mod limiter;
pub mod password;
pub mod session;
pub mod token;

pub use limiter::Limiter;
pub use session::{CurrentUser, Via, SESSION_COOKIE};
