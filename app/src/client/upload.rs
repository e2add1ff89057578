//! Sends files with XMLHttpRequest so each card can show bytes sent. At most
//! [`CONCURRENT`] files go up at once: browsers allow about six connections per host,
//! and the event stream must always have one.

use std::collections::VecDeque;

use leptos::prelude::*;
use shared::{ErrorBody, Upload};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

use crate::{
    board::{Board, Card, Sending},
    session::Session,
};

const CONCURRENT: usize = 3;

/// The page's upload queue.
#[derive(Clone, Copy)]
pub struct Sender {
    board: Board,
    session: Session,
    waiting: StoredValue<VecDeque<(Card, File)>, LocalStorage>,
    in_flight: StoredValue<usize>,
}

impl Sender {
    pub fn new(board: Board, session: Session) -> Self {
        let sender = Self {
            board,
            session,
            waiting: StoredValue::new_local(VecDeque::new()),
            in_flight: StoredValue::new(0),
        };
        // Whatever waited while the session was gone goes once it is back.
        Effect::new(move |_| {
            if !session.lost.get() {
                sender.pump();
            }
        });
        sender
    }

    /// Shows the file on the board at once and sends it when a slot is free.
    pub fn enqueue(&self, file: File) {
        let card = self.board.add_local(file.name(), file.size() as u64, new_client_ref());
        self.waiting.update_value(|q| q.push_back((card, file)));
        self.pump();
    }

    fn pump(&self) {
        while self.in_flight.get_value() < CONCURRENT && !self.session.lost.get_untracked() {
            let Some((card, file)) = self.waiting.try_update_value(|q| q.pop_front()).flatten()
            else {
                return;
            };
            self.in_flight.update_value(|n| *n += 1);
            let this = *self;
            send(self.board, card.clone(), &file.clone(), move |outcome| {
                this.in_flight.update_value(|n| *n -= 1);
                if outcome == Outcome::Unauthenticated {
                    // Not sent: it goes first once the user has signed in again.
                    card.sending.set(Sending::Waiting);
                    this.waiting.update_value(|q| q.push_front((card, file)));
                    this.session.lost.set(true);
                }
                this.pump();
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Sent, or failed for a reason shown on its card.
    Settled,
    /// The server refused the session: nothing was stored.
    Unauthenticated,
}

fn new_client_ref() -> String {
    let now = js_sys::Date::now() as u64;
    let random = (js_sys::Math::random() * 1e12) as u64;
    format!("c{now:x}{random:x}")
}

fn send(board: Board, card: Card, file: &File, finished: impl FnOnce(Outcome) + 'static) {
    let fail = |card: &Card, message: &str| card.sending.set(Sending::Failed(message.to_owned()));
    let Some(client_ref) = card.client_ref.clone() else { return };
    let (Ok(xhr), Ok(form)) = (XmlHttpRequest::new(), FormData::new()) else {
        fail(&card, "this browser cannot send files");
        finished(Outcome::Settled);
        return;
    };
    let opened = xhr
        .open("POST", &format!("/api/uploads?client_ref={client_ref}"))
        .and_then(|()| xhr.set_request_header("Accept", "application/json"))
        .and_then(|()| form.append_with_blob_and_filename("file", file, &file.name()));
    if opened.is_err() {
        fail(&card, "the upload could not be started");
        finished(Outcome::Settled);
        return;
    }

    let progress_card = card.clone();
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() {
            progress_card
                .sending
                .set(Sending::Sent { loaded: e.loaded() as u64, total: e.total() as u64 });
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }

    // `loadend` fires once, after success, error or abort; it also frees the progress
    // listener, which must live until then.
    let xhr_done = xhr.clone();
    let send_card = card.clone();
    let on_end = Closure::once_into_js(move || {
        if let Ok(upload) = xhr_done.upload() {
            upload.set_onprogress(None);
        }
        drop(on_progress);
        let status = xhr_done.status().unwrap_or(0);
        let body = xhr_done.response_text().ok().flatten().unwrap_or_default();
        match status {
            200..=299 => match serde_json::from_str::<Upload>(&body) {
                Ok(upload) => {
                    card.sending.set(Sending::Finished);
                    board.adopt(&upload);
                }
                Err(_) => fail(&card, "the server's answer could not be read"),
            },
            0 => fail(&card, "the connection to the server was lost"),
            401 => return finished(Outcome::Unauthenticated),
            _ => {
                let message = serde_json::from_str::<ErrorBody>(&body)
                    .map(|e| e.message)
                    .unwrap_or_else(|_| format!("the server answered {status}"));
                fail(&card, &message);
            }
        }
        finished(Outcome::Settled);
    });
    xhr.set_onloadend(Some(on_end.unchecked_ref()));
    if xhr.send_with_opt_form_data(Some(&form)).is_err() {
        fail(&send_card, "the upload could not be sent");
    }
}
