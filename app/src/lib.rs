//! Uplink's user interface: a dashboard of uploads whose bars move with the bytes sent
//! and then with the server's own processing events.
//!
//! Rendered on the server (`ssr`) and hydrated in the browser (`hydrate`); the browser-only
//! clients for EventSource and XMLHttpRequest live in [`client`].

pub mod api;
pub mod board;
#[cfg(feature = "ssr")]
mod catalog;
pub mod client;
mod components;
pub mod connection;
pub mod format;
pub mod list_view;
mod pages;
pub mod progress;
pub mod session;
pub mod speed;
pub mod timeline;

#[cfg(feature = "ssr")]
pub use api::{TextPreview, UploadDetail};
#[cfg(feature = "ssr")]
pub use catalog::{CatalogFuture, UploadCatalog, UploadSource};

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, StaticSegment,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" id="leptos" href="/pkg/uplink.css"/>
                <link rel="icon" href="/favicon.ico"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Uplink"/>
        <Router>
            <main>
                <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                    <Route path=StaticSegment("") view=pages::Dashboard/>
                    <Route path=StaticSegment("login") view=pages::Login/>
                    <Route path=StaticSegment("register") view=pages::Register/>
                    <Route path=(StaticSegment("uploads"), ParamSegment("id")) view=pages::UploadDetailPage/>
                </Routes>
            </main>
        </Router>
    }
}
