//! The dashboard's model: one card per upload, each with its own signals so an event
//! re-renders only the card it is about.
//!
//! Server state only ever moves forward here (status rank and percent never go back),
//! so events that arrive late or twice (replay after a reconnect, a fetched snapshot
//! racing a live event) can never make a bar jump backwards.

use std::collections::HashMap;

use leptos::prelude::*;
use shared::{
    ErrorBody, ErrorCode, ProgressEvent, Stage, Upload, UploadEvent, UploadId, UploadStatus,
};

use crate::phase::{phase, Phase};

/// What the server last told us about an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerState {
    pub status: UploadStatus,
    pub stage: Option<Stage>,
    pub percent: u8,
    pub page: Option<u32>,
    pub pages: Option<u32>,
    pub size: u64,
    pub error: Option<ErrorBody>,
    pub has_text: bool,
    /// While queued: how many jobs the server says will start first.
    pub ahead: Option<u32>,
    /// Which run of processing this state belongs to; a retry starts the next.
    pub attempt: u32,
    /// An image's width and height.
    pub dimensions: Option<(u32, u32)>,
    pub has_thumbnail: bool,
    /// The type the server found, once it has looked.
    pub content_type: Option<String>,
    /// Every byte was stored (it has a checksum): a failure after this can be retried
    /// on the server; one before it needs the file sent again.
    pub stored: bool,
}

fn rank(status: UploadStatus) -> u8 {
    match status {
        UploadStatus::Uploading => 0,
        UploadStatus::Queued => 1,
        UploadStatus::Processing => 2,
        UploadStatus::Done | UploadStatus::Failed | UploadStatus::Cancelled => 3,
    }
}

impl ServerState {
    pub fn from_upload(upload: &Upload) -> Self {
        Self {
            status: upload.status,
            stage: upload.stage,
            percent: upload.percent,
            page: None,
            pages: upload.pages,
            size: upload.size,
            error: upload.error.clone(),
            has_text: upload.has_text,
            ahead: None,
            attempt: upload.attempt,
            dimensions: upload.width.zip(upload.height),
            has_thumbnail: upload.has_thumbnail,
            content_type: upload.content_type.clone(),
            stored: upload.sha256.is_some(),
        }
    }

    /// Folds `newer` in unless it would move the upload backwards. A later attempt (a
    /// retry) starts over; an earlier one is history.
    pub fn merge(&mut self, newer: ServerState) {
        if newer.attempt != self.attempt {
            if newer.attempt > self.attempt {
                *self = newer;
            }
            return;
        }
        if rank(self.status) == 3 || rank(newer.status) < rank(self.status) {
            return;
        }
        let percent = self.percent.max(newer.percent);
        *self = Self { percent, ..newer };
    }

    /// Applies an event about this upload.
    pub fn apply(&mut self, event: &UploadEvent) {
        match event {
            UploadEvent::Progress(p) if p.attempt > self.attempt => {
                // A retry: the event carries the reset upload.
                let mut next = match &p.upload {
                    Some(upload) => Self::from_upload(upload),
                    None => Self { error: None, page: None, has_text: false, ..self.clone() },
                };
                next.status = p.status;
                next.stage = p.stage;
                next.percent = p.percent;
                next.attempt = p.attempt;
                next.ahead = p.ahead;
                self.merge(next);
            }
            UploadEvent::Progress(p) => {
                let mut next = self.clone();
                next.attempt = p.attempt;
                next.status = p.status;
                next.stage = p.stage;
                next.percent = p.percent;
                if p.stage == Some(Stage::Extracting) {
                    next.page = p.page.or(next.page);
                }
                next.pages = p.pages.or(next.pages);
                // Only queued events carry it; an older position stays until a newer one.
                next.ahead = p.ahead.or(next.ahead).filter(|_| p.status == UploadStatus::Queued);
                if p.status == UploadStatus::Uploading {
                    next.size = next.size.max(p.bytes_received.unwrap_or(0));
                } else {
                    next.stored = true;
                }
                self.merge(next);
            }
            UploadEvent::Done(d) => {
                let mut next = Self::from_upload(&d.upload);
                next.page = self.page;
                self.merge(next);
            }
            UploadEvent::Error(e) => {
                let status = match e.code {
                    ErrorCode::Cancelled | ErrorCode::Deleted => UploadStatus::Cancelled,
                    _ => UploadStatus::Failed,
                };
                let next = Self {
                    status,
                    error: Some(ErrorBody::new(e.code, e.message.clone())),
                    ..self.clone()
                };
                self.merge(next);
            }
        }
    }
}

#[cfg(test)]
impl ServerState {
    /// A first attempt in `status` and `stage`, with nothing else known yet.
    pub(crate) fn sample(status: UploadStatus, stage: Stage) -> Self {
        Self {
            status,
            stage: Some(stage),
            percent: 0,
            page: None,
            pages: None,
            size: 0,
            error: None,
            has_text: false,
            ahead: None,
            attempt: 1,
            dimensions: None,
            has_thumbnail: false,
            content_type: None,
            stored: false,
        }
    }
}

/// Where a file this page is sending stands on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Sending {
    /// Not sent from this page (another tab, or before a reload).
    Elsewhere,
    /// Waiting for a free slot in the upload queue.
    Waiting,
    /// Bytes sent so far out of the total.
    Sent { loaded: u64, total: u64 },
    /// The server has all the bytes.
    Finished,
    /// The request failed before the server accepted it.
    Failed(String),
    /// The person cancelled it before all of it was sent.
    Cancelled,
}

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
    /// Where it stands, recomputed only when that changes, so the list's filter and
    /// totals follow status changes without re-running on every progress event.
    pub phase: ArcMemo<Phase>,
    /// Just the phase's key, which changes far less often than the phase's text.
    pub status: ArcMemo<&'static str>,
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
        let phase = ArcMemo::new({
            let (sending, server) = (sending.clone(), server.clone());
            move |_| server.with(|s| phase(&sending.get(), s.as_ref()))
        });
        let status = ArcMemo::new({
            let phase = phase.clone();
            move |_| phase.with(|p| p.key)
        });
        Self {
            key,
            filename,
            client_ref,
            id: ArcRwSignal::new(id),
            size,
            sending,
            server,
            phase,
            status,
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
            Sending::Sent { loaded, .. } => loaded,
            Sending::Finished => self.size,
            _ => 0,
        }
    }

    /// The whole job's percent: bytes sent fill the receiving band until the server's
    /// own progress takes over, and the bar never moves back.
    pub fn percent(&self) -> u8 {
        let server = self.server.with(|s| s.as_ref().map_or(0, |s| s.percent));
        let sent = match self.sending.get() {
            Sending::Sent { loaded, total } => Stage::Receiving.percent(loaded, total),
            Sending::Finished => Stage::Receiving.band().1,
            _ => 0,
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
    use shared::{DoneEvent, ErrorEvent};

    fn id() -> UploadId {
        UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap()
    }

    fn progress(status: UploadStatus, stage: Stage, percent: u8, page: Option<u32>) -> UploadEvent {
        UploadEvent::Progress(ProgressEvent {
            upload_id: id(),
            status,
            stage: Some(stage),
            percent,
            bytes_received: None,
            bytes_total: None,
            page,
            pages: page.map(|_| 4),
            message: None,
            ahead: None,
            attempt: 1,
            at: String::new(),
            upload: None,
        })
    }

    fn state() -> ServerState {
        ServerState::sample(UploadStatus::Uploading, Stage::Receiving)
    }

    #[test]
    fn late_or_repeated_events_never_move_a_card_backwards() {
        let mut s = state();
        s.apply(&progress(UploadStatus::Processing, Stage::Extracting, 70, Some(3)));
        s.apply(&progress(UploadStatus::Queued, Stage::Receiving, 40, None));
        assert_eq!((s.status, s.percent, s.page), (UploadStatus::Processing, 70, Some(3)));
        s.apply(&progress(UploadStatus::Processing, Stage::Extracting, 60, Some(2)));
        assert_eq!(s.percent, 70, "percent is monotonic");
    }

    fn upload(client_ref: Option<&str>) -> Upload {
        Upload {
            id: id(),
            filename: "a.pdf".into(),
            size: 10,
            content_type: None,
            sha256: None,
            status: UploadStatus::Uploading,
            stage: Some(Stage::Receiving),
            percent: 0,
            pages: None,
            error: None,
            created_at: String::new(),
            updated_at: String::new(),
            client_ref: client_ref.map(str::to_owned),
            has_text: false,
            attempt: 1,
            width: None,
            height: None,
            has_thumbnail: false,
        }
    }

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

    #[test]
    fn terminal_states_stick() {
        let mut s = state();
        s.apply(&UploadEvent::Error(ErrorEvent {
            upload_id: id(),
            code: ErrorCode::Corrupt,
            message: "damaged".into(),
            at: String::new(),
        }));
        s.apply(&progress(UploadStatus::Processing, Stage::Extracting, 90, Some(4)));
        assert_eq!(s.status, UploadStatus::Failed);
        assert_eq!(s.error.as_ref().map(|e| e.message.as_str()), Some("damaged"));
    }

    #[test]
    fn a_retry_starts_the_card_over_and_the_old_attempt_stays_behind() {
        let mut s = state();
        s.apply(&progress(UploadStatus::Processing, Stage::Extracting, 80, Some(3)));
        s.apply(&UploadEvent::Error(ErrorEvent {
            upload_id: id(),
            code: ErrorCode::Cancelled,
            message: "cancelled".into(),
            at: String::new(),
        }));
        let retried = |status, stage, percent, page| match progress(status, stage, percent, page) {
            UploadEvent::Progress(p) => UploadEvent::Progress(ProgressEvent { attempt: 2, ..p }),
            _ => unreachable!(),
        };
        s.apply(&retried(UploadStatus::Queued, Stage::Receiving, 0, None));
        assert_eq!(
            (s.status, s.percent, s.attempt, s.error.is_none()),
            (UploadStatus::Queued, 0, 2, true)
        );
        // A late event of the first attempt changes nothing now.
        s.apply(&progress(UploadStatus::Processing, Stage::Extracting, 90, Some(4)));
        assert_eq!((s.status, s.percent), (UploadStatus::Queued, 0));
        s.apply(&retried(UploadStatus::Processing, Stage::Extracting, 50, Some(2)));
        assert_eq!((s.status, s.percent, s.page), (UploadStatus::Processing, 50, Some(2)));
    }

    #[test]
    fn done_carries_the_final_upload() {
        let mut s = state();
        s.apply(&progress(UploadStatus::Processing, Stage::Extracting, 94, Some(4)));
        let upload = Upload {
            id: id(),
            filename: "a.pdf".into(),
            size: 10,
            content_type: Some("application/pdf".into()),
            sha256: None,
            status: UploadStatus::Done,
            stage: Some(Stage::Finalizing),
            percent: 100,
            pages: Some(4),
            error: None,
            created_at: String::new(),
            updated_at: String::new(),
            client_ref: None,
            has_text: true,
            attempt: 1,
            width: None,
            height: None,
            has_thumbnail: false,
        };
        s.apply(&UploadEvent::Done(DoneEvent { upload_id: id(), upload, at: String::new() }));
        assert_eq!(
            (s.status, s.percent, s.pages, s.has_text),
            (UploadStatus::Done, 100, Some(4), true)
        );
        assert_eq!(s.page, Some(4), "the last page seen stays on the card");
    }
}
