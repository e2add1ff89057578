//! The uploads, newest first, filtered and searched, a page at a time: however many
//! there are, only the cards on screen exist.

use leptos::prelude::*;

use super::UploadCard;
use crate::{
    board::Board,
    list_view::{name_matches, ListView, PAGE},
};

#[component]
pub fn UploadList() -> impl IntoView {
    let board = expect_context::<Board>();
    let list = expect_context::<ListView>();
    // Re-run when a card is added or removed, changes status, or the controls change;
    // never for a plain progress event.
    let matching = Memo::new(move |_| {
        let filter = list.filter.get();
        let query = list.query.with(|q| q.trim().to_lowercase());
        board.cards.with(|cards| {
            cards
                .iter()
                .filter(|c| {
                    c.status.with(|k| filter.admits(k)) && name_matches(&c.filename, &query)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let shown =
        move || matching.with(|m| m.iter().take(list.shown.get()).cloned().collect::<Vec<_>>());
    let hidden = move || matching.with(Vec::len).saturating_sub(list.shown.get());
    let empty = move || board.cards.with(Vec::is_empty);
    let none_match = move || !empty() && matching.with(Vec::is_empty);

    view! {
        <Show when=empty>
            <p class="empty">"No uploads yet. Drop files anywhere on this page, paste them, or choose them above."</p>
        </Show>
        <Show when=none_match>
            <p class="empty">"No uploads match."</p>
        </Show>
        <ul class="uploads" aria-label="Uploads">
            <For each=shown key=|card| card.key.clone() children=|card| view! { <UploadCard card/> } />
        </ul>
        <Show when=move || { hidden() > 0 }>
            <button type="button" class="show-more" on:click=move |_| list.shown.update(|n| *n += PAGE)>
                {move || format!("Show {} more of {}", hidden().min(PAGE), hidden())}
            </button>
        </Show>
    }
}
