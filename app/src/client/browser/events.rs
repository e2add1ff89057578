//! One EventSource on `/api/events` for the whole dashboard.
//!
//! While the browser can, it reconnects by itself and sends `Last-Event-ID`; the server
//! replays what was missed. When it gives up (the EventSource is `CLOSED`, as after a
//! proxy's error page or any answer that is not an event stream), this module opens a
//! new one after a growing delay, resuming with `?last_event_id=` from the last event it
//! saw, so the dashboard never stays frozen. Before reopening it asks whether the
//! session still holds; if not, it waits for the user to sign in again.

use std::{cell::RefCell, rc::Rc};

use leptos::{prelude::*, task::spawn_local};
use shared::{routes, Upload, UploadEvent, UploadId};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{EventSource, MessageEvent};

use crate::{board::Board, connection::ConnectionState, session::Session};

/// Delay before reopening a stream the browser gave up on: doubles from 1 s to 30 s.
const FIRST_REOPEN_MS: i32 = 1_000;
const MAX_REOPEN_MS: i32 = 30_000;

/// The dashboard's one stream, reopened as often as needed.
struct Stream {
    board: Board,
    connection: RwSignal<ConnectionState>,
    session: Session,
    /// Waiting for the session to come back before reopening.
    paused: RefCell<bool>,
    source: RefCell<Option<EventSource>>,
    /// The `id` of the newest event received: where a reopened stream resumes.
    last_event_id: RefCell<Option<String>>,
    reopen_ms: RefCell<i32>,
    /// The page is going away: never reopen.
    stopped: RefCell<bool>,
}

/// Opens the stream and routes its events into `board`.
pub fn connect(board: Board, connection: RwSignal<ConnectionState>, session: Session) {
    let stream = Rc::new(Stream {
        board,
        connection,
        session,
        paused: RefCell::new(false),
        source: RefCell::new(None),
        last_event_id: RefCell::new(None),
        reopen_ms: RefCell::new(FIRST_REOPEN_MS),
        stopped: RefCell::new(false),
    });
    open(&stream);
    let stream = StoredValue::new_local(stream);
    Effect::new(move |_| {
        if !session.lost.get() {
            stream.with_value(|stream| {
                if stream.paused.replace(false) {
                    open(stream);
                }
            });
        }
    });
    on_cleanup(move || {
        stream.with_value(|stream| {
            *stream.stopped.borrow_mut() = true;
            if let Some(source) = stream.source.borrow_mut().take() {
                source.close();
            }
        })
    });
}

fn open(stream: &Rc<Stream>) {
    let url = match stream.last_event_id.borrow().as_deref() {
        Some(id) => format!("{}?last_event_id={id}", routes::EVENTS),
        None => routes::EVENTS.to_owned(),
    };
    let Ok(source) = EventSource::new(&url) else {
        stream.connection.set(ConnectionState::Offline);
        reopen_later(stream);
        return;
    };

    let on_open = Closure::<dyn FnMut()>::new({
        let stream = Rc::clone(stream);
        move || {
            *stream.reopen_ms.borrow_mut() = FIRST_REOPEN_MS;
            stream.connection.set(ConnectionState::Live);
        }
    });
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    // Lives as long as this EventSource, which the stream owns until it is replaced.
    on_open.forget();

    for name in [UploadEvent::PROGRESS, UploadEvent::DONE, UploadEvent::ERROR] {
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new({
            let stream = Rc::clone(stream);
            let source = source.clone();
            move |event: web_sys::Event| match event.dyn_into::<MessageEvent>() {
                Ok(message) => on_message(&stream, name, &message),
                // A plain `error` Event (not a message) is the connection failing.
                Err(_) => on_connection_error(&stream, &source),
            }
        });
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        listener.forget();
    }
    *stream.source.borrow_mut() = Some(source);
}

fn on_connection_error(stream: &Rc<Stream>, source: &EventSource) {
    if source.ready_state() == EventSource::CONNECTING {
        // The browser is already retrying, with Last-Event-ID.
        stream.connection.set(ConnectionState::Reconnecting);
        return;
    }
    stream.connection.set(ConnectionState::Offline);
    source.close();
    reopen_later(stream);
}

fn reopen_later(stream: &Rc<Stream>) {
    if *stream.stopped.borrow() {
        return;
    }
    let delay = {
        let mut next = stream.reopen_ms.borrow_mut();
        let delay = *next;
        *next = (delay * 2).min(MAX_REOPEN_MS);
        delay
    };
    let reopen = Closure::once_into_js({
        let stream = Rc::clone(stream);
        move || {
            if *stream.stopped.borrow() {
                return;
            }
            stream.connection.set(ConnectionState::Reconnecting);
            spawn_local(async move {
                // A stream refused for its session would only be refused again.
                if crate::client::auth::session_holds().await == Some(false) {
                    *stream.paused.borrow_mut() = true;
                    *stream.reopen_ms.borrow_mut() = FIRST_REOPEN_MS;
                    stream.session.lost.set(true);
                } else {
                    open(&stream);
                }
            });
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(reopen.unchecked_ref(), delay);
    }
}

fn on_message(stream: &Stream, name: &str, message: &MessageEvent) {
    let id = message.last_event_id();
    if !id.is_empty() {
        *stream.last_event_id.borrow_mut() = Some(id);
    }
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
    if let Some(unknown) = stream.board.apply(&event) {
        fetch_and_adopt(stream.board, unknown);
    }
}

/// An event about an upload this page has no card for (sent from another tab, or the
/// first event of a file this page is sending): fetch it and add or match its card.
fn fetch_and_adopt(board: Board, id: UploadId) {
    spawn_local(async move {
        let url = routes::of(routes::UPLOAD, &id);
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
