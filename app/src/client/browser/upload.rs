//! Sends files with XMLHttpRequest so each card can show bytes sent. At most
//! [`CONCURRENT`] files go up at once: browsers allow about six connections per host,
//! and the event stream must always have one. Files that break the server's limits are
//! refused here, before a byte is sent; a file can be cancelled while it waits or goes
//! up, and sent again if it never all arrived.

use std::collections::{HashMap, VecDeque};

use leptos::prelude::*;
use shared::{routes, ErrorBody, Upload, UploadLimits};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

use crate::{
    board::{Board, Card},
    progress::Sending,
    session::Session,
};

const CONCURRENT: usize = 3;

/// The page's upload queue.
#[derive(Clone, Copy)]
pub struct Sender {
    board: Board,
    session: Session,
    limits: StoredValue<UploadLimits>,
    /// Why the files last refused were refused, one message each.
    pub rejections: RwSignal<Vec<String>>,
    waiting: StoredValue<VecDeque<(Card, File)>, LocalStorage>,
    in_flight: StoredValue<usize>,
    /// Each card's file, by card key, so it can be sent again.
    files: StoredValue<HashMap<String, File>, LocalStorage>,
    /// The request of each file going up now, by card key, so it can be cut.
    requests: StoredValue<HashMap<String, XmlHttpRequest>, LocalStorage>,
}

impl Sender {
    pub fn new(
        board: Board,
        session: Session,
        limits: UploadLimits,
        rejections: RwSignal<Vec<String>>,
    ) -> Self {
        let sender = Self {
            board,
            session,
            limits: StoredValue::new(limits),
            rejections,
            waiting: StoredValue::new_local(VecDeque::new()),
            in_flight: StoredValue::new(0),
            files: StoredValue::new_local(HashMap::new()),
            requests: StoredValue::new_local(HashMap::new()),
        };
        // Whatever waited while the session was gone goes once it is back.
        Effect::new(move |_| {
            if !session.lost.get() {
                sender.pump();
            }
        });
        sender
    }

    /// The server's limits, once the dashboard has them.
    pub fn set_limits(&self, limits: UploadLimits) {
        self.limits.set_value(limits);
    }

    /// The files an `<input type="file">` change event carries; the input is cleared so
    /// the same file can be picked again.
    pub fn add_picked(&self, event: &leptos::ev::Event) {
        let Some(input) =
            event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(files) = input.files() {
            self.add((0..files.length()).filter_map(|i| files.get(i)));
        }
        input.set_value("");
    }

    /// Takes files picked, dropped or pasted: each one the server would refuse is
    /// named in [`Sender::rejections`]; the rest go on the board and are sent in turn.
    pub fn add(&self, files: impl IntoIterator<Item = File>) {
        let mut refused = Vec::new();
        for file in files {
            let declared = Some(file.type_()).filter(|t| !t.is_empty());
            let size = file.size() as u64;
            match self.limits.with_value(|l| l.refusal(&file.name(), size, declared.as_deref())) {
                Some(reason) => refused.push(reason),
                None => self.enqueue(file),
            }
        }
        self.rejections.set(refused);
        self.pump();
    }

    /// Shows the file on the board at once; [`Sender::pump`] sends it when a slot is free.
    fn enqueue(&self, file: File) {
        let card = self.board.add_local(file.name(), file.size() as u64, new_client_ref());
        self.files.update_value(|f| {
            f.insert(card.key.clone(), file.clone());
        });
        self.waiting.update_value(|q| q.push_back((card, file)));
    }

    /// Whether this page holds the card's file (so it can send it again).
    pub fn has_file(&self, card: &Card) -> bool {
        self.files.with_value(|f| f.contains_key(&card.key))
    }

    /// Stops sending a card's file: out of the queue, or its request cut. The server
    /// throws away what it got (the caller also asks it to cancel, when it knows the id).
    pub fn cancel(&self, card: &Card) {
        card.sending.set(Sending::Cancelled);
        self.waiting.update_value(|q| q.retain(|(c, _)| c.key != card.key));
        if let Some(xhr) = self.requests.with_value(|r| r.get(&card.key).cloned()) {
            // Its `loadend` frees the slot.
            let _ = xhr.abort();
        }
    }

    /// Sends a card's file again as a new upload, in place of the card.
    pub fn resend(&self, card: &Card) {
        let Some(file) = self.files.try_update_value(|f| f.remove(&card.key)).flatten() else {
            return;
        };
        self.board.discard(card);
        self.add([file]);
    }

    /// Forgets a card's file once the card is gone.
    pub fn release(&self, card: &Card) {
        self.files.update_value(|f| {
            f.remove(&card.key);
        });
    }

    fn pump(&self) {
        while self.in_flight.get_value() < CONCURRENT && !self.session.lost.get_untracked() {
            let Some((card, file)) = self.waiting.try_update_value(|q| q.pop_front()).flatten()
            else {
                return;
            };
            self.in_flight.update_value(|n| *n += 1);
            let this = *self;
            let key = card.key.clone();
            let xhr = send(self.board, card.clone(), &file.clone(), move |outcome| {
                this.in_flight.update_value(|n| *n -= 1);
                this.requests.update_value(|r| {
                    r.remove(&card.key);
                });
                if outcome == Outcome::Unauthenticated {
                    // Not sent: it goes first once the user has signed in again.
                    card.sending.set(Sending::Waiting);
                    this.waiting.update_value(|q| q.push_front((card, file)));
                    this.session.lost.set(true);
                }
                this.pump();
            });
            if let Some(xhr) = xhr {
                self.requests.update_value(|r| {
                    r.insert(key, xhr);
                });
            }
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

/// Starts sending; `finished` runs once the request is over. Returns the request, to
/// cut it with.
fn send(
    board: Board,
    card: Card,
    file: &File,
    finished: impl FnOnce(Outcome) + 'static,
) -> Option<XmlHttpRequest> {
    let fail = |card: &Card, message: &str| {
        // A request cut by a cancel fails too; the card already says why.
        if card.sending.get_untracked() != Sending::Cancelled {
            card.sending.set(Sending::Failed(message.to_owned()));
        }
    };
    let client_ref = card.client_ref.clone()?;
    let (Ok(xhr), Ok(form)) = (XmlHttpRequest::new(), FormData::new()) else {
        fail(&card, "this browser cannot send files");
        finished(Outcome::Settled);
        return None;
    };
    let opened = xhr
        .open("POST", &format!("{}?client_ref={client_ref}", routes::UPLOADS))
        .and_then(|()| xhr.set_request_header("Accept", "application/json"))
        .and_then(|()| form.append_with_blob_and_filename("file", file, &file.name()));
    if opened.is_err() {
        fail(&card, "the upload could not be started");
        finished(Outcome::Settled);
        return None;
    }

    let progress_card = card.clone();
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && progress_card.sending.get_untracked() != Sending::Cancelled {
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
                    if card.sending.get_untracked() != Sending::Cancelled {
                        card.sending.set(Sending::Finished);
                    }
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
    Some(xhr)
}
