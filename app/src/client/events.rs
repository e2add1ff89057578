//! One EventSource on `/api/events` for the whole dashboard. The browser reconnects by
//! itself and sends `Last-Event-ID`; the server replays what was missed.

use leptos::{prelude::*, task::spawn_local};
use shared::{Upload, UploadEvent, UploadId};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{EventSource, MessageEvent};

use crate::{board::Board, components::ConnectionState};

/// Opens the stream and routes its events into `board`.
pub fn connect(board: Board, connection: RwSignal<ConnectionState>) {
    let Ok(source) = EventSource::new("/api/events") else {
        connection.set(ConnectionState::Offline);
        return;
    };

    let on_open = Closure::<dyn FnMut()>::new(move || connection.set(ConnectionState::Live));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();

    for name in [UploadEvent::PROGRESS, UploadEvent::DONE, UploadEvent::ERROR] {
        let source_for_state = source.clone();
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            match event.dyn_into::<MessageEvent>() {
                Ok(message) => on_message(board, name, &message),
                // A plain `error` Event (not a message) is the connection failing.
                Err(_) => connection.set(match source_for_state.ready_state() {
                    EventSource::CONNECTING => ConnectionState::Reconnecting,
                    _ => ConnectionState::Offline,
                }),
            }
        });
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        // Lives as long as the page's one EventSource.
        listener.forget();
    }

    let source = StoredValue::new_local(source);
    on_cleanup(move || source.with_value(EventSource::close));
}

fn on_message(board: Board, name: &str, message: &MessageEvent) {
    let Some(data) = message.data().as_string() else { return };
    let event = match UploadEvent::deserialize_named(
        name,
        &mut serde_json::Deserializer::from_str(&data),
    ) {
        Ok(event) => event,
        Err(error) => {
            leptos::logging::warn!("ignoring an event Uplink cannot read: {error}");
            return;
        }
    };
    if let Some(unknown) = board.apply(&event) {
        fetch_and_adopt(board, unknown);
    }
}

/// An event about an upload this page has no card for (sent from another tab, or the
/// first event of a file this page is sending): fetch it and add or match its card.
fn fetch_and_adopt(board: Board, id: UploadId) {
    spawn_local(async move {
        let url = format!("/api/uploads/{id}");
        let fetched = match gloo_net::http::Request::get(&url).send().await {
            Ok(response) if response.ok() => response.json::<Upload>().await.ok(),
            _ => None,
        };
        match fetched {
            Some(upload) => board.adopt(&upload),
            None => board.forget(&id),
        }
    });
}
