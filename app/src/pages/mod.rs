//! One module per page.

mod account;
mod dashboard;
mod upload_detail;

pub use account::{Login, Register};
pub use dashboard::Dashboard;
pub use upload_detail::UploadDetailPage;
