//! One module per page.

mod dashboard;

pub use dashboard::Dashboard;
