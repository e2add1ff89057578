//! Whether live updates are flowing.

use leptos::prelude::*;

pub use crate::connection::ConnectionState;

#[component]
pub fn ConnectionBadge(state: RwSignal<ConnectionState>) -> impl IntoView {
    view! {
        <span class="connection" data-state=move || state.get().class() role="status">
            {move || state.get().label()}
        </span>
    }
}
