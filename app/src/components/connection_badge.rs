//! Whether live updates are flowing.

use leptos::prelude::*;

/// Only the browser leaves `Connecting`: the server renders the page before any stream.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Live,
    Reconnecting,
    Offline,
}

impl ConnectionState {
    fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Live => "Live",
            Self::Reconnecting => "Reconnecting…",
            Self::Offline => "Offline",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Reconnecting => "reconnecting",
            Self::Offline => "offline",
        }
    }
}

#[component]
pub fn ConnectionBadge(state: RwSignal<ConnectionState>) -> impl IntoView {
    view! {
        <span class="connection" data-state=move || state.get().class() role="status">
            {move || state.get().label()}
        </span>
    }
}
