//! Everything at a glance: overall progress of what is in flight, bytes sent, counts by
//! status (each one a filter), and a search by name.

use leptos::prelude::*;

use crate::{
    board::Board,
    format,
    list_view::{Filter, ListView, PAGE},
};

#[component]
pub fn Totals() -> impl IntoView {
    let board = expect_context::<Board>();
    let view_state = expect_context::<ListView>();
    // Counted from each card's status memo: re-run only when some card changes status.
    let counts = Memo::new(move |_| {
        board.cards.with(|cards| {
            Filter::EVERY.map(|f| cards.iter().filter(|c| f.admits(c.phase.get())).count())
        })
    });
    // Overall progress and bytes: these follow every event of the cards in flight.
    let overall = Memo::new(move |_| {
        board.cards.with(|cards| {
            let active: Vec<_> =
                cards.iter().filter(|c| Filter::Active.admits(c.phase.get())).collect();
            let percent = if active.is_empty() {
                100
            } else {
                active.iter().map(|c| u32::from(c.percent())).sum::<u32>() / active.len() as u32
            };
            let local: Vec<_> = cards.iter().filter(|c| c.client_ref.is_some()).collect();
            let sent: u64 = local.iter().map(|c| c.bytes_sent()).sum();
            let total: u64 = local.iter().map(|c| c.size).sum();
            (percent as u8, active.len(), sent, total)
        })
    });
    let summary = move || {
        let (percent, active, sent, total) = overall.get();
        let flight = match active {
            0 => "Nothing in flight".to_owned(),
            1 => format!("1 upload in flight: {percent}%"),
            n => format!("{n} uploads in flight: {percent}%"),
        };
        (flight, format!("{} of {} sent", format::bytes(sent), format::bytes(total)))
    };
    let on_search = move |e: leptos::ev::Event| {
        view_state.query.set(event_target_value(&e));
        view_state.shown.set(PAGE);
    };

    view! {
        <section class="totals" aria-label="Totals">
            <div class="overall">
                <progress
                    class="overall-bar"
                    max="100"
                    value=move || overall.get().0
                    aria-label="Overall progress of uploads in flight"
                ></progress>
                <span class="overall-text">{move || summary().0}</span>
                <span class="bytes-sent">{move || summary().1}</span>
            </div>
            <div class="list-controls">
                <div class="filters" role="group" aria-label="Show uploads">
                    {Filter::EVERY
                        .into_iter()
                        .enumerate()
                        .map(|(i, filter)| {
                            view! {
                                <button
                                    type="button"
                                    class="filter"
                                    data-filter=filter.key()
                                    aria-pressed=move || (view_state.filter.get() == filter).to_string()
                                    on:click=move |_| {
                                        view_state.filter.set(filter);
                                        view_state.shown.set(PAGE);
                                    }
                                >
                                    {filter.label()}
                                    " "
                                    <span class="count">{move || counts.get()[i]}</span>
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                <label class="search">
                    <span class="visually-hidden">"Search uploads by name"</span>
                    <input
                        type="search"
                        placeholder="Search by name"
                        prop:value=move || view_state.query.get()
                        on:input=on_search
                    />
                </label>
            </div>
        </section>
    }
}
