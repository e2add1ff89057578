//! The dashboard's model: one card per upload, each with its own signals so an event
//! re-renders only the card it is about. The rules that fold events into a card's state
//! are `progress`'s; this is where they meet Leptos.

use std::collections::HashMap;

use leptos::prelude::*;
use shared::{ProgressEvent, Stage, Upload, UploadEvent, UploadId};

use crate::progress::{phase, Phase, Sending, ServerState, Shown};

/// One upload on the dashboard.
#[derive(Clone)]
pub struct Card {
    /// Stable for the card's life: the client_ref of a file sent from here, else the id.
    pub key: String,
    pub filename: String,
    pub client_ref: Option<String>,
    pub id: ArcRwSignal<Option<UploadId>>,
    pub size: u64,
    pub sending: ArcRwSignal<Sending>,
    pub server: ArcRwSignal<Option<ServerState>>,
    /// What the card says, recomputed when what it reads changes.
    pub shown: ArcMemo<Shown>,
    /// Just where it stands, which changes far less often than the words: the list's
    /// filter and totals follow it without re-running on every progress event.
    pub phase: ArcMemo<Phase>,
}

/// A card is its upload: the same key is the same card (its state is in its signals).
impl PartialEq for Card {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Card {
    fn new(
        key: String,
        filename: String,
        client_ref: Option<String>,
        id: Option<UploadId>,
        size: u64,
        sending: Sending,
        server: Option<ServerState>,
    ) -> Self {
        let (sending, server) = (ArcRwSignal::new(sending), ArcRwSignal::new(server));
        let shown = ArcMemo::new({
            let (sending, server) = (sending.clone(), server.clone());
            move |_| server.with(|s| phase(&sending.get(), s.as_ref()))
        });
        let phase = ArcMemo::new({
            let shown = shown.clone();
            move |_| shown.with(|s| s.phase)
        });
        Self {
            key,
            filename,
            client_ref,
            id: ArcRwSignal::new(id),
            size,
            sending,
            server,
            shown,
            phase,
        }
    }

    fn from_upload(upload: &Upload) -> Self {
        Self::new(
            upload.client_ref.clone().unwrap_or_else(|| upload.id.to_string()),
            upload.filename.clone(),
            upload.client_ref.clone(),
            Some(upload.id.clone()),
            upload.size,
            Sending::Elsewhere,
            Some(ServerState::from_upload(upload)),
        )
    }

    /// Bytes this page has sent of the file (all of it once the server has them).
    pub fn bytes_sent(&self) -> u64 {
        match self.sending.get() {
            Sending::Finished => self.size,
            sending => sending.loaded().map_or(0, |(loaded, _)| loaded),
        }
    }

    /// The whole job's percent: bytes sent fill the receiving band until the server's
    /// own progress takes over, and the bar never moves back.
    pub fn percent(&self) -> u8 {
        let server = self.server.with(|s| s.as_ref().map_or(0, |s| s.percent));
        let sent = match self.sending.get() {
            Sending::Finished => Stage::Receiving.band().1,
            sending => sending.loaded().map_or(0, |(l, t)| Stage::Receiving.percent(l, t)),
        };
        server.max(sent)
    }
}

/// All cards, newest first, plus indexes to find a card by upload id or client_ref.
#[derive(Clone, Copy)]
pub struct Board {
    pub cards: RwSignal<Vec<Card>>,
    by_id: StoredValue<HashMap<UploadId, Card>>,
    by_ref: StoredValue<HashMap<String, Card>>,
    /// Events about uploads being fetched, applied in order once their card exists.
    pending: StoredValue<HashMap<UploadId, Vec<UploadEvent>>>,
    /// Set once the server-rendered list is in, so live events start after it.
    pub seeded: RwSignal<bool>,
}

impl Default for Board {
    fn default() -> Self {
        Self::new()
    }
}

impl Board {
    pub fn new() -> Self {
        Self {
            cards: RwSignal::new(Vec::new()),
            by_id: StoredValue::new(HashMap::new()),
            by_ref: StoredValue::new(HashMap::new()),
            pending: StoredValue::new(HashMap::new()),
            seeded: RwSignal::new(false),
        }
    }

    /// Adds the uploads the server rendered, keeping their order.
    pub fn seed(&self, uploads: Vec<Upload>) {
        let fresh: Vec<Card> = uploads
            .iter()
            .filter(|u| !self.knows(&u.id))
            .map(|u| self.index(Card::from_upload(u)))
            .collect();
        if !fresh.is_empty() {
            self.cards.update(|cards| cards.extend(fresh));
        }
        if !self.seeded.get_untracked() {
            self.seeded.set(true);
        }
    }

    /// Drops the card of a deleted upload, and anything waiting for it.
    pub fn remove(&self, id: &UploadId) {
        self.forget(id);
        let Some(card) = self.by_id.try_update_value(|m| m.remove(id)).flatten() else { return };
        self.discard(&card);
    }

    /// Drops a card, whether or not the server ever knew its upload.
    pub fn discard(&self, card: &Card) {
        if let Some(id) = card.id.get_untracked() {
            self.forget(&id);
            self.by_id.update_value(|m| {
                m.remove(&id);
            });
        }
        if let Some(client_ref) = &card.client_ref {
            self.by_ref.update_value(|m| {
                m.remove(client_ref);
            });
        }
        self.cards.update(|cards| cards.retain(|c| c.key != card.key));
    }

    pub fn knows(&self, id: &UploadId) -> bool {
        self.by_id.with_value(|m| m.contains_key(id))
    }

    fn index(&self, card: Card) -> Card {
        if let Some(id) = card.id.get_untracked() {
            self.by_id.update_value(|m| {
                m.insert(id, card.clone());
            });
        }
        if let Some(client_ref) = &card.client_ref {
            self.by_ref.update_value(|m| {
                m.insert(client_ref.clone(), card.clone());
            });
        }
        card
    }

    /// The card of upload `id`, if the board has it.
    pub fn card(&self, id: &UploadId) -> Option<Card> {
        self.by_id.with_value(|m| m.get(id).cloned())
    }

    /// A file this page is about to send.
    pub fn add_local(&self, filename: String, size: u64, client_ref: String) -> Card {
        let card = self.index(Card::new(
            client_ref.clone(),
            filename,
            Some(client_ref),
            None,
            size,
            Sending::Waiting,
            None,
        ));
        self.cards.update(|cards| cards.insert(0, card.clone()));
        card
    }

    /// Takes in an upload fetched from or returned by the server: it joins the local
    /// card that sent it, or becomes a new card. Events that arrived for it meanwhile are
    /// applied after it, in order.
    pub fn adopt(&self, upload: &Upload) {
        let local =
            upload.client_ref.as_ref().and_then(|r| self.by_ref.with_value(|m| m.get(r).cloned()));
        let card = match (local, self.by_id.with_value(|m| m.get(&upload.id).cloned())) {
            (_, Some(card)) | (Some(card), None) => {
                if card.id.get_untracked().is_none() {
                    card.id.set(Some(upload.id.clone()));
                    self.index(card.clone());
                }
                merge_into(&card, ServerState::from_upload(upload));
                card
            }
            (None, None) => {
                let card = self.index(Card::from_upload(upload));
                self.cards.update(|cards| cards.insert(0, card.clone()));
                card
            }
        };
        let waiting = self.pending.try_update_value(|p| p.remove(&upload.id)).flatten();
        for event in waiting.unwrap_or_default() {
            apply_to(&card, &event);
        }
    }

    /// Applies a live event. Returns the id when no card knows it yet and the event
    /// does not introduce it, so the caller can fetch the upload and [`Board::adopt`] it;
    /// until then, events about it wait here.
    pub fn apply(&self, event: &UploadEvent) -> Option<UploadId> {
        let id = event.upload_id();
        if let Some(card) = self.by_id.with_value(|m| m.get(id).cloned()) {
            apply_to(&card, event);
            return None;
        }
        if let UploadEvent::Progress(ProgressEvent { upload: Some(upload), .. }) = event {
            self.adopt(upload);
            self.apply(event);
            return None;
        }
        let first = self
            .pending
            .try_update_value(|p| {
                let waiting = p.entry(id.clone()).or_default();
                waiting.push(event.clone());
                waiting.len() == 1
            })
            .unwrap_or(false);
        first.then(|| id.clone())
    }
}

impl Board {
    /// Drops what waited for an upload that could not be fetched (deleted meanwhile).
    pub fn forget(&self, id: &UploadId) {
        self.pending.update_value(|p| {
            p.remove(id);
        });
    }
}

fn apply_to(card: &Card, event: &UploadEvent) {
    card.server.update(|state| match state {
        Some(state) => state.apply(event),
        None => {
            if let UploadEvent::Done(done) = event {
                *state = Some(ServerState::from_upload(&done.upload));
            }
        }
    });
}

fn merge_into(card: &Card, state: ServerState) {
    card.server.update(|current| match current {
        Some(current) => current.merge(state),
        None => *current = Some(state),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::samples::{id, progress, upload};
    use shared::UploadStatus;

    fn introducing(upload: Upload) -> UploadEvent {
        UploadEvent::Progress(ProgressEvent {
            upload: Some(Box::new(upload)),
            ..match progress(UploadStatus::Uploading, Stage::Receiving, 1, None) {
                UploadEvent::Progress(p) => p,
                _ => unreachable!(),
            }
        })
    }

    #[test]
    fn an_introducing_event_joins_the_card_sending_that_file() {
        Owner::new().with(an_introducing_event_joins_the_card_sending_that_file_in_owner);
    }

    fn an_introducing_event_joins_the_card_sending_that_file_in_owner() {
        let board = Board::new();
        let card = board.add_local("a.pdf".into(), 10, "ref-1".into());
        assert_eq!(board.apply(&introducing(upload(Some("ref-1")))), None);
        assert_eq!(card.id.get_untracked(), Some(id()));
        assert_eq!(board.cards.get_untracked().len(), 1, "no second card");
        board.apply(&progress(UploadStatus::Processing, Stage::Extracting, 60, Some(2)));
        assert_eq!(card.server.get_untracked().unwrap().page, Some(2));
    }

    #[test]
    fn events_for_an_unknown_upload_wait_for_it_and_are_fetched_once() {
        Owner::new().with(events_for_an_unknown_upload_wait_in_owner);
    }

    fn events_for_an_unknown_upload_wait_in_owner() {
        let board = Board::new();
        let first = progress(UploadStatus::Processing, Stage::Extracting, 50, Some(1));
        let second = progress(UploadStatus::Processing, Stage::Extracting, 60, Some(2));
        assert_eq!(board.apply(&first), Some(id()), "fetch it");
        assert_eq!(board.apply(&second), None, "already being fetched");
        board.adopt(&upload(None));
        let card = board.cards.get_untracked()[0].clone();
        let state = card.server.get_untracked().unwrap();
        assert_eq!(
            (state.status, state.percent, state.page),
            (UploadStatus::Processing, 60, Some(2))
        );
    }
}
