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
    // The cards on this page and how many match in all. Re-run when a card is added or
    // removed, changes status, or the controls change; never for a plain progress event.
    // Only the cards shown are cloned: with hundreds of uploads changing status, cloning
    // every match each time was most of the page's work.
    let matching = Memo::new(move |_| {
        let filter = list.filter.get();
        let query = list.query.with(|q| q.trim().to_lowercase());
        let limit = list.shown.get();
        board.cards.with(|cards| {
            let mut shown = Vec::with_capacity(limit.min(cards.len()));
            let mut total = 0;
            for card in cards {
                if filter.admits(card.phase.get()) && name_matches(&card.filename, &query) {
                    if total < limit {
                        shown.push(card.clone());
                    }
                    total += 1;
                }
            }
            (shown, total)
        })
    });
    let shown = move || matching.with(|(shown, _)| shown.clone());
    let hidden = move || matching.with(|(shown, total)| total - shown.len());
    let empty = move || board.cards.with(Vec::is_empty);
    let none_match = move || !empty() && matching.with(|(_, total)| *total == 0);

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
