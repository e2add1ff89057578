//! Reusable pieces of the dashboard.

mod connection_badge;
mod file_picker;
mod upload_card;
mod upload_list;

pub use connection_badge::{ConnectionBadge, ConnectionState};
pub use file_picker::FilePicker;
pub use upload_card::UploadCard;
pub use upload_list::UploadList;
