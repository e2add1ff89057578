//! `/`: pick files, watch every upload move live.

use leptos::prelude::*;

use crate::{
    api::list_uploads,
    board::Board,
    components::{ConnectionBadge, ConnectionState, FilePicker, UploadList},
};

#[component]
pub fn Dashboard() -> impl IntoView {
    let board = Board::new();
    provide_context(board);
    let connection = RwSignal::new(ConnectionState::Connecting);
    let initial = Resource::new(|| (), |_| list_uploads());

    // One EventSource for every upload on the page, opened after the server-rendered
    // list is in, so live events always land on hydrated cards.
    #[cfg(feature = "hydrate")]
    {
        let connected = StoredValue::new(false);
        Effect::new(move |_| {
            if board.seeded.get() && !connected.get_value() {
                connected.set_value(true);
                crate::client::events::connect(board, connection);
            }
        });
    }

    view! {
        <header class="topbar">
            <h1>"Uplink"</h1>
            <ConnectionBadge state=connection/>
        </header>
        <FilePicker/>
        <Suspense fallback=|| view! { <p class="loading">"Loading uploads…"</p> }>
            {move || Suspend::new(async move {
                match initial.await {
                    Ok(uploads) => {
                        board.seed(uploads);
                        view! { <UploadList/> }.into_any()
                    }
                    Err(error) => {
                        view! {
                            <p class="load-error" role="alert">
                                "Could not load uploads: " {error.to_string()}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
