//! Sends files with tus (`tus.rs`), a chunk per XMLHttpRequest, so each card shows bytes
//! sent and a dropped connection costs only the chunk in flight. At most [`CONCURRENT`]
//! files go up at once: browsers allow about six connections per host, and the event
//! stream must always have one. Files that break the server's limits are refused here,
//! before a byte is sent; a file can be paused, resumed, cancelled while it waits or goes
//! up, and sent again if it never all arrived. A file picked again after a reload goes on
//! from where it stopped.

use std::{
    cell::RefCell,
    collections::{HashMap, VecDeque},
    rc::Rc,
};

use leptos::prelude::*;
use shared::{UploadLimits, UploadStatus};
use wasm_bindgen::JsCast;
use web_sys::File;

use super::{
    transfer::{send, Outcome, Transfer},
    tus::{self, kept},
};
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
    /// Each card's file, by card key, so it can be resumed or sent again.
    files: StoredValue<HashMap<String, File>, LocalStorage>,
    /// The file of each card going up now, by card key, so it can be cut.
    transfers: StoredValue<HashMap<String, Transfer>, LocalStorage>,
    /// Each card's upload address once it has one, by card key: where a resume goes on.
    locations: StoredValue<HashMap<String, String>, LocalStorage>,
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
            transfers: StoredValue::new_local(HashMap::new()),
            locations: StoredValue::new_local(HashMap::new()),
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

    /// Cards of uploads this browser started before a reload and that are still
    /// arriving: they say so, and picking the file again resumes them.
    pub fn mark_interrupted(&self) {
        for id in kept::locations().iter().filter_map(|l| tus::id_of(l)) {
            let Some(card) = self.board.card(&id) else { continue };
            let arriving = card.server.with_untracked(|s| {
                s.as_ref().is_some_and(|s| s.status == UploadStatus::Uploading)
            });
            if arriving && card.sending.get_untracked() == Sending::Elsewhere {
                card.sending.set(Sending::Interrupted);
            }
        }
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

    /// Shows the file on the board at once (on its own card if it is one this browser
    /// left unfinished); [`Sender::pump`] sends it when a slot is free.
    fn enqueue(&self, file: File) {
        let kept = kept::get(&file);
        let resumed = kept.as_deref().and_then(tus::id_of).and_then(|id| self.board.card(&id));
        let resumed = resumed.filter(|card| {
            !self.transfers.with_value(|t| t.contains_key(&card.key))
                && matches!(card.sending.get_untracked(), Sending::Interrupted | Sending::Elsewhere)
        });
        let card = match (resumed, kept) {
            (Some(card), Some(location)) => {
                card.sending.set(Sending::Waiting);
                self.locations.update_value(|l| {
                    l.insert(card.key.clone(), location);
                });
                card
            }
            _ => self.board.add_local(file.name(), file.size() as u64, new_client_ref()),
        };
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
        let running = self.transfers.with_value(|t| t.get(&card.key).cloned());
        let location = match &running {
            Some(transfer) => transfer.location.borrow().clone(),
            None => self.locations.with_value(|l| l.get(&card.key).cloned()),
        };
        if let Some(transfer) = running {
            transfer.halt();
        }
        self.forget(card, location.as_deref());
        // The server drops what it has of it, unless it was told first by id (the card
        // has one once the server announced the upload).
        if let Some(location) = location.filter(|_| card.id.get_untracked().is_none()) {
            leptos::task::spawn_local(async move { tus::terminate(&location).await });
        }
    }

    /// Forgets a card's upload address, here and, if it is still this card's, in the
    /// browser's storage.
    fn forget(&self, card: &Card, location: Option<&str>) {
        self.locations.update_value(|l| {
            l.remove(&card.key);
        });
        let file = self.files.with_value(|f| f.get(&card.key).cloned());
        if let (Some(file), Some(location)) = (file, location) {
            if kept::get(&file).as_deref() == Some(location) {
                kept::remove(&file);
            }
        }
    }

    /// Pauses a card's file where it is; [`Sender::resume`] goes on from there.
    pub fn pause(&self, card: &Card) {
        let Some((loaded, total)) = card.sending.get_untracked().loaded() else { return };
        if let Some(transfer) = self.transfers.with_value(|t| t.get(&card.key).cloned()) {
            transfer.halt();
            card.sending.set(Sending::Paused { loaded, total });
        }
    }

    /// Goes on sending a paused file, from where the server has it.
    pub fn resume(&self, card: &Card) {
        let Some(file) = self.files.with_value(|f| f.get(&card.key).cloned()) else { return };
        if matches!(card.sending.get_untracked(), Sending::Paused { .. }) {
            card.sending.set(Sending::Waiting);
            self.waiting.update_value(|q| q.push_front((card.clone(), file)));
            self.pump();
        }
    }

    /// Sends a card's file again as a new upload, in place of the card.
    pub fn resend(&self, card: &Card) {
        let location = self.locations.with_value(|l| l.get(&card.key).cloned());
        self.forget(card, location.as_deref());
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
            let location = self.locations.with_value(|l| l.get(&card.key).cloned());
            let transfer =
                Transfer { location: Rc::new(RefCell::new(location)), ..Transfer::default() };
            self.transfers.update_value(|t| {
                t.insert(card.key.clone(), transfer.clone());
            });
            let this = *self;
            let chunk = self.limits.with_value(|l| l.tus_chunk);
            leptos::task::spawn_local(async move {
                let outcome = send(&card, &file, chunk, &transfer).await;
                this.in_flight.update_value(|n| *n -= 1);
                // Only this task's entry: after a pause and a resume, a newer one runs.
                this.transfers.update_value(|t| {
                    if t.get(&card.key).is_some_and(|mine| Rc::ptr_eq(&mine.stop, &transfer.stop)) {
                        t.remove(&card.key);
                    }
                });
                match (outcome, transfer.location.borrow().clone()) {
                    (Outcome::Ended, _) => {
                        this.forget(&card, transfer.location.borrow().as_deref())
                    }
                    (_, Some(location)) => this.locations.update_value(|l| {
                        l.insert(card.key.clone(), location);
                    }),
                    (_, None) => {}
                }
                if outcome == Outcome::Unauthenticated {
                    // It goes on first once the user has signed in again.
                    card.sending.set(Sending::Waiting);
                    this.waiting.update_value(|q| q.push_front((card, file)));
                    this.session.lost.set(true);
                }
                this.pump();
            });
        }
    }
}

fn new_client_ref() -> String {
    let now = js_sys::Date::now() as u64;
    let random = (js_sys::Math::random() * 1e12) as u64;
    format!("c{now:x}{random:x}")
}
