//! `/`: add files (pick, drop anywhere, paste), watch every upload move live, filter and
//! search them. Only ever rendered for a logged-in account (the server sends visitors to
//! `/login`).

use leptos::prelude::*;

use crate::{
    api::load_dashboard,
    board::Board,
    components::{ConnectionBadge, ConnectionState, FilePicker, SessionDialog, Totals, UploadList},
    list_view::ListView,
    session::Session,
};

#[component]
pub fn Dashboard() -> impl IntoView {
    let board = Board::new();
    provide_context(board);
    let session = Session::new(String::new());
    provide_context(session);
    provide_context(ListView::new());
    let connection = RwSignal::new(ConnectionState::Connecting);
    let rejections = RwSignal::new(Vec::<String>::new());
    let dragging = RwSignal::new(false);
    let initial = Resource::new(|| (), |_| load_dashboard());

    let sender = {
        let sender = crate::client::upload::Sender::new(
            board,
            session,
            shared::UploadLimits {
                max_upload_bytes: u64::MAX,
                allowed_types: Vec::new(),
                tus_chunk: 8 << 20,
            },
            rejections,
        );
        provide_context(sender);
        crate::client::drop::listen(sender, dragging);
        // One EventSource for every upload on the page, opened after the server-rendered
        // list is in, so live events always land on hydrated cards.
        let connected = StoredValue::new(false);
        Effect::new(move |_| {
            if board.seeded.get() && !connected.get_value() {
                connected.set_value(true);
                sender.mark_interrupted();
                crate::client::events::connect(board, connection, session);
            }
        });
        sender
    };

    view! {
        <header class="topbar">
            <h1>"Uplink"</h1>
            <ConnectionBadge state=connection/>
        </header>
        <Suspense fallback=|| view! { <p class="loading">"Loading uploads…"</p> }>
            {move || Suspend::new(async move {
                match initial.await {
                    Ok(data) => {
                        board.seed(data.uploads);
                        session.username.set(data.username.clone());
                        sender.set_limits(data.limits.clone());
                        view! {
                            <AccountBar username=data.username/>
                            <FilePicker limits=data.limits rejections/>
                            <Totals/>
                            <UploadList/>
                        }
                            .into_any()
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
        <div class="drop-overlay" class:active=move || dragging.get() aria-hidden="true">
            <p>"Drop files to upload them"</p>
        </div>
        <SessionDialog/>
    }
}

/// Who is logged in, and the way out.
#[component]
fn AccountBar(username: String) -> impl IntoView {
    let on_logout = move |_| {
        leptos::task::spawn_local(async {
            crate::client::auth::logout().await;
            crate::client::auth::go_to("/login");
        });
    };
    view! {
        <div class="account-bar">
            <span>"Signed in as " <strong class="username">{username}</strong></span>
            <button type="button" class="logout" on:click=on_logout>"Log out"</button>
        </div>
    }
}
