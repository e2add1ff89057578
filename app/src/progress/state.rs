//! What the server last said about an upload, and where a file this page sends stands
//! on the wire: plain data and the rules that fold events in, with no Leptos in sight,
//! so they are tested without a reactive owner.
//!
//! Server state only ever moves forward (status rank and percent never go back), so
//! events that arrive late or twice (replay after a reconnect, a fetched snapshot racing
//! a live event) can never make a bar jump backwards.

use shared::{ErrorBody, ErrorCode, Stage, Upload, UploadEvent, UploadStatus};

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
                if matches!(p.stage, Some(Stage::Extracting | Stage::Ocr)) {
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
    /// Paused by the person at `loaded`: nothing goes until they resume.
    Paused { loaded: u64, total: u64 },
    /// The connection broke at `loaded`: going on from the server's offset once the
    /// network is back.
    Reconnecting { loaded: u64, total: u64 },
    /// Sent from this browser before a reload, and not all of it arrived: picking the
    /// same file again goes on from where it stopped.
    Interrupted,
    /// The server has all the bytes.
    Finished,
    /// The request failed before the server accepted it.
    Failed(String),
    /// The person cancelled it before all of it was sent.
    Cancelled,
}

impl Sending {
    /// Bytes of the file on their way or there, while this page sends it.
    pub fn loaded(&self) -> Option<(u64, u64)> {
        match *self {
            Self::Sent { loaded, total }
            | Self::Paused { loaded, total }
            | Self::Reconnecting { loaded, total } => Some((loaded, total)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::samples::{id, progress};
    use shared::{DoneEvent, ErrorEvent, ProgressEvent};

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
