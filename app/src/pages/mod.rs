//! One module per page.

mod account;
mod dashboard;

pub use account::{Login, Register};
pub use dashboard::Dashboard;
