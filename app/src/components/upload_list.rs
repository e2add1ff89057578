//! The uploads, newest first.

use leptos::prelude::*;

use super::UploadCard;
use crate::board::Board;

#[component]
pub fn UploadList() -> impl IntoView {
    let board = expect_context::<Board>();
    let empty = move || board.cards.with(Vec::is_empty);
    view! {
        <Show when=empty>
            <p class="empty">"No uploads yet. Pick some files to start."</p>
        </Show>
        <ul class="uploads" aria-label="Uploads">
            <For
                each=move || board.cards.get()
                key=|card| card.key.clone()
                children=|card| view! { <UploadCard card/> }
            />
        </ul>
    }
}
