//! The clients' server-side stand-ins: the browser's names and signatures, doing
//! nothing (see `client/mod.rs`).

pub mod actions {
    use shared::UploadId;

    pub async fn cancel(_: &UploadId) -> Result<(), String> {
        Ok(())
    }

    pub async fn retry(_: &UploadId) -> Result<(), String> {
        Ok(())
    }

    pub async fn delete(_: &UploadId) -> Result<(), String> {
        Ok(())
    }

    pub async fn text_start(_: &UploadId) -> Result<String, String> {
        Ok(String::new())
    }
}

pub mod auth {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Action {
        Login,
        Register,
    }

    pub async fn submit(_: Action, username: &str, _: &str) -> Result<String, String> {
        Ok(username.to_owned())
    }

    pub async fn logout() {}

    pub fn go_to(_: &str) {}
}

pub mod clock {
    /// There is no speed to show while rendering on the server.
    pub fn now_ms() -> Option<f64> {
        None
    }
}

pub mod drop {
    use leptos::prelude::RwSignal;

    use super::upload::Sender;

    pub fn listen(_: Sender, _: RwSignal<bool>) {}
}

pub mod events {
    use leptos::prelude::RwSignal;

    use crate::{board::Board, connection::ConnectionState, session::Session};

    pub fn connect(_: Board, _: RwSignal<ConnectionState>, _: Session) {}
}

pub mod upload {
    use leptos::prelude::RwSignal;
    use shared::UploadLimits;

    use crate::{board::Board, board::Card, session::Session};

    #[derive(Clone, Copy)]
    pub struct Sender;

    impl Sender {
        pub fn new(_: Board, _: Session, _: UploadLimits, _: RwSignal<Vec<String>>) -> Self {
            Self
        }

        pub fn set_limits(&self, _: UploadLimits) {}

        pub fn add_picked(&self, _: &leptos::ev::Event) {}

        pub fn has_file(&self, _: &Card) -> bool {
            false
        }

        pub fn cancel(&self, _: &Card) {}
        pub fn pause(&self, _: &Card) {}
        pub fn resume(&self, _: &Card) {}
        pub fn mark_interrupted(&self) {}

        pub fn resend(&self, _: &Card) {}

        pub fn release(&self, _: &Card) {}
    }
}
