//! Reusable pieces of the dashboard.

mod card_actions;
mod connection_badge;
mod credentials_form;
mod file_picker;
mod session_dialog;
mod totals;
mod upload_card;
mod upload_list;

pub use connection_badge::{ConnectionBadge, ConnectionState};
pub use credentials_form::{CredentialsForm, FormKind};
pub use file_picker::FilePicker;
pub use session_dialog::SessionDialog;
pub use totals::Totals;
pub use upload_card::UploadCard;
pub use upload_list::UploadList;
