//! One file going up with tus, until all of it is on the server, the person stops it,
//! or the server refuses it: created or gone on with, chunk after chunk, each answer's
//! offset where the next chunk starts. A broken connection (or the browser offline)
//! shows on the card, waits for the network and a backoff, then asks the server where
//! it stands, so no byte is sent twice.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use leptos::prelude::*;
use web_sys::File;

use super::{
    tus::{self, kept, InFlight},
    UNREACHABLE,
};
use crate::{board::Card, progress::Sending};

/// Waits after a broken connection, in turn: the network may be back at once, or not
/// for a while.
const BACKOFF_MS: [i32; 5] = [250, 500, 1000, 2000, 4000];

/// Failures in a row, while the browser says it is online, before a card says the
/// upload failed (its file may be gone from the disk, or the server down for good).
/// Offline, it waits for the network however long that takes.
const MAX_TRIES: usize = 12;

/// A file going up: its upload's address once it has one, its request in flight, and
/// whether the person stopped it (a pause or a cancel: either way this task ends).
#[derive(Clone, Default)]
pub struct Transfer {
    pub location: Rc<RefCell<Option<String>>>,
    pub in_flight: InFlight,
    pub stop: Rc<Cell<bool>>,
}

impl Transfer {
    pub fn halt(&self) {
        self.stop.set(true);
        if let Some(xhr) = self.in_flight.borrow().as_ref() {
            let _ = xhr.abort();
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.get()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All sent, or failed for a reason shown on its card: its upload is no more to go on.
    Ended,
    /// Stopped by the person: a resume goes on from where the server is.
    Stopped,
    /// The server refused the session.
    Unauthenticated,
}

/// A refusal that passes: the server is busy or restarting (`5xx`), or the upload is
/// held a moment longer by a request of ours it has not seen end (`423`).
fn passing(status: u16) -> bool {
    status >= 500 || status == 423
}

/// Sends `file` for `card` as a tus upload (going on with `transfer`'s address when it
/// has one) until all of it is on the server, the person stops it, or the server
/// refuses it.
pub async fn send(card: &Card, file: &File, chunk: u64, transfer: &Transfer) -> Outcome {
    let size = file.size() as u64;
    let set = |sending: Sending| {
        if !transfer.stopped() {
            card.sending.set(sending);
        }
    };
    let client_ref = card.client_ref.clone().unwrap_or_else(|| card.key.clone());
    // An address from before a reload may be gone (expired): then it starts over, but
    // only before this task has sent anything to it.
    let mut may_start_over = transfer.location.borrow().is_some();
    let mut offset: Option<u64> = None;
    let mut tries = 0;
    loop {
        if transfer.stopped() {
            return Outcome::Stopped;
        }
        if tries >= MAX_TRIES && tus::is_online() {
            set(Sending::Failed(format!("{UNREACHABLE} (tried {tries} times)")));
            return Outcome::Stopped;
        }
        let lost = |tries: usize| async move {
            if transfer.stopped() {
                return;
            }
            let loaded = card.sending.get_untracked().loaded().map_or(0, |(l, _)| l);
            set(Sending::Reconnecting { loaded, total: size });
            tus::online().await;
            tus::sleep(BACKOFF_MS[tries.min(BACKOFF_MS.len() - 1)]).await;
        };
        // Refused for good: said on the card, and the server drops what it has.
        let refused = |answer: tus::Answer| {
            set(Sending::Failed(answer.refusal()));
            if let Some(location) = transfer.location.borrow().clone() {
                leptos::task::spawn_local(async move { tus::terminate(&location).await });
            }
            Outcome::Ended
        };
        let Some(at) = transfer.location.borrow().clone() else {
            match tus::create(file, &client_ref, &transfer.in_flight).await {
                Ok(Ok(created)) => {
                    kept::set(file, &created);
                    transfer.location.replace(Some(created));
                    (offset, tries, may_start_over) = (Some(0), 0, false);
                }
                Ok(Err(answer)) if answer.status == 401 => return Outcome::Unauthenticated,
                Ok(Err(answer)) if passing(answer.status) => {
                    lost(tries).await;
                    tries += 1;
                }
                Ok(Err(answer)) => return refused(answer),
                Err(()) => {
                    lost(tries).await;
                    tries += 1;
                }
            }
            continue;
        };
        let from = match offset {
            Some(from) => from,
            None => match tus::head(&at, &transfer.in_flight).await {
                Ok(answer) if answer.status == 200 && answer.offset().is_some() => {
                    answer.offset().unwrap_or(0)
                }
                Ok(answer) if answer.status == 401 => return Outcome::Unauthenticated,
                Ok(answer) if passing(answer.status) => {
                    lost(tries).await;
                    tries += 1;
                    continue;
                }
                Ok(answer) if answer.status == 404 && may_start_over => {
                    kept::remove(file);
                    transfer.location.replace(None);
                    may_start_over = false;
                    continue;
                }
                Ok(answer) => return refused(answer),
                Err(()) => {
                    lost(tries).await;
                    tries += 1;
                    continue;
                }
            },
        };
        if from >= size {
            set(Sending::Finished);
            return Outcome::Ended;
        }
        may_start_over = false;
        set(Sending::Sent { loaded: from, total: size });
        let heard = {
            let (card, stop) = (card.clone(), transfer.stop.clone());
            move |sent: u64| {
                if !stop.get() {
                    card.sending.set(Sending::Sent { loaded: from + sent, total: size });
                }
            }
        };
        match tus::patch(&at, file, from, chunk, Box::new(heard), &transfer.in_flight).await {
            Ok(answer) if answer.status == 204 => {
                (offset, tries) = (answer.offset(), 0);
            }
            Ok(answer) if answer.status == 401 => return Outcome::Unauthenticated,
            // Not where the server is: ask it, after a pause if that keeps happening.
            Ok(answer) if answer.status == 409 || passing(answer.status) => {
                offset = None;
                if answer.status != 409 || tries > 0 {
                    lost(tries).await;
                }
                tries += 1;
            }
            Ok(answer) => return refused(answer),
            Err(()) => {
                offset = None;
                lost(tries).await;
                tries += 1;
            }
        }
    }
}
