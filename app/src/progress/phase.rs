//! Where an upload stands, as the dashboard says it: one value computed from what this
//! page is sending and what the server last said, so the card, the list's filter and
//! the totals all agree.

use shared::{Stage, UploadStatus};

use super::{Sending, ServerState};
use crate::format;

/// How a failed or cancelled upload can be run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The server has the bytes: it runs the job again.
    OnServer,
    /// The bytes never all arrived: the file must be sent again (only from the page that
    /// has it).
    Resend,
}

/// Where an upload stands: the one value the card, the list's filters and the totals
/// all read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting on this page for a free slot to send it.
    Waiting,
    /// This page is sending it.
    Sending,
    /// The server is receiving it (sent from elsewhere).
    Uploading,
    Queued,
    Processing,
    Done,
    Failed,
    Cancelled,
}

impl Phase {
    /// For styling and tests (`data-status`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Sending => "sending",
            Self::Uploading => "uploading",
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// What the card's badge says.
    pub fn badge(self) -> &'static str {
        match self {
            Self::Uploading => "Receiving",
            Self::Waiting => "Waiting",
            Self::Sending => "Sending",
            Self::Queued => "Queued",
            Self::Processing => "Processing",
            Self::Done => "Done",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Nothing more will happen to it unless someone acts.
    pub fn finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }

    /// There is work to stop: bytes going up, or a job waiting or running.
    pub fn cancellable(self) -> bool {
        !self.finished()
    }
}

/// What the card says about where the upload is.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub phase: Phase,
    pub detail: String,
    pub page: Option<String>,
    pub error: Option<String>,
    pub retry: Option<Retry>,
}

fn plain(phase: Phase, detail: &str) -> Shown {
    Shown { phase, detail: detail.to_owned(), page: None, error: None, retry: None }
}

fn sending_detail(loaded: u64, total: u64) -> Shown {
    let detail = format!("Sending {} of {}", format::bytes(loaded), format::bytes(total));
    Shown { detail, ..plain(Phase::Sending, "") }
}

/// Where an upload stands and what to say about it, from what this page is sending and
/// what the server last said.
pub fn phase(sending: &Sending, server: Option<&ServerState>) -> Shown {
    let arriving = server.is_none_or(|s| s.status == UploadStatus::Uploading);
    let done = server.is_some_and(|s| s.status == UploadStatus::Done);
    match (sending, server) {
        // A cancel from this page wins over whatever the server says about the cut
        // request, unless the upload got through first.
        (Sending::Cancelled, _) if !done => Shown {
            retry: Some(Retry::Resend),
            ..plain(Phase::Cancelled, "Cancelled while sending")
        },
        (Sending::Failed(message), _) if arriving => Shown {
            error: Some(message.clone()),
            retry: Some(Retry::Resend),
            ..plain(Phase::Failed, "Not sent")
        },
        (Sending::Waiting, None) => plain(Phase::Waiting, "Waiting to send"),
        (Sending::Sent { loaded, total }, _) if arriving => sending_detail(*loaded, *total),
        (Sending::Paused { loaded, total }, _) if arriving => {
            let (loaded, total) = (format::bytes(*loaded), format::bytes(*total));
            plain(Phase::Sending, &format!("Paused at {loaded} of {total}"))
        }
        (Sending::Reconnecting { .. }, _) if arriving => {
            plain(Phase::Sending, "Connection lost, resuming…")
        }
        (Sending::Interrupted, Some(state)) if arriving => Shown {
            detail: format!("{} arrived: pick the file again to resume", format::bytes(state.size)),
            ..plain(Phase::Uploading, "")
        },
        (_, None) => plain(Phase::Sending, "Sending"),
        (_, Some(state)) => server_phase(state),
    }
}

fn server_phase(state: &ServerState) -> Shown {
    let retry = |retriable: bool| match (retriable, state.stored) {
        (true, true) => Some(Retry::OnServer),
        (_, false) => Some(Retry::Resend),
        (false, true) => None,
    };
    match state.status {
        UploadStatus::Uploading => plain(Phase::Uploading, "Receiving"),
        UploadStatus::Queued => {
            let detail = match state.ahead {
                Some(0) => "Next in line".to_owned(),
                Some(1) => "1 job ahead".to_owned(),
                Some(n) if n > 10 => format!("Up to {n} jobs ahead"),
                Some(n) => format!("{n} jobs ahead"),
                None => "Waiting for a worker".to_owned(),
            };
            Shown { detail, ..plain(Phase::Queued, "") }
        }
        UploadStatus::Processing => {
            let stage = state.stage.unwrap_or(Stage::Validating);
            let page = match (stage, state.page, state.pages) {
                (Stage::Extracting, Some(page), Some(pages)) => {
                    Some(format!("page {page} / {pages}"))
                }
                // Slow enough that the page it is on is the whole story.
                (Stage::Ocr, Some(page), Some(pages)) => {
                    let detail = format!("Reading page {page} of {pages} (OCR)");
                    return Shown { detail, ..plain(Phase::Processing, "") };
                }
                _ => None,
            };
            Shown { page, ..plain(Phase::Processing, stage.label()) }
        }
        UploadStatus::Done => {
            let detail = match (state.pages, state.dimensions) {
                (Some(1), _) => "Done: 1 page".to_owned(),
                (Some(n), _) => format!("Done: {n} pages"),
                (None, Some((width, height))) => format!("Done: {width} × {height}"),
                (None, None) => "Done".to_owned(),
            };
            Shown { detail, ..plain(Phase::Done, "") }
        }
        UploadStatus::Failed => Shown {
            error: Some(
                state.error.as_ref().map_or("Processing failed".to_owned(), |e| e.message.clone()),
            ),
            retry: retry(state.error.as_ref().is_some_and(|e| e.code.retriable())),
            ..plain(Phase::Failed, "Failed")
        },
        UploadStatus::Cancelled => Shown {
            retry: retry(state.error.as_ref().is_none_or(|e| e.code.retriable())),
            ..plain(Phase::Cancelled, "Cancelled")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{ErrorBody, ErrorCode};

    fn server(status: UploadStatus, stage: Stage, page: Option<u32>) -> ServerState {
        ServerState {
            percent: 50,
            page,
            pages: Some(7),
            size: 1,
            stored: true,
            ..ServerState::sample(status, stage)
        }
    }

    #[test]
    fn phases_say_what_is_happening() {
        let extracting = server(UploadStatus::Processing, Stage::Extracting, Some(3));
        let p = phase(&Sending::Finished, Some(&extracting));
        assert_eq!(
            (p.phase, p.detail.as_str(), p.page.as_deref()),
            (Phase::Processing, "Extracting text", Some("page 3 / 7"))
        );

        let reading = server(UploadStatus::Processing, Stage::Ocr, Some(3));
        let p = phase(&Sending::Finished, Some(&reading));
        assert_eq!(
            (p.phase, p.detail.as_str(), p.page.as_deref()),
            (Phase::Processing, "Reading page 3 of 7 (OCR)", None)
        );

        let p = phase(&Sending::Sent { loaded: 512, total: 2048 }, None);
        assert_eq!((p.phase, p.detail.as_str()), (Phase::Sending, "Sending 512 B of 2.0 KiB"));

        let p = phase(&Sending::Failed("offline".into()), None);
        assert_eq!(
            (p.phase, p.error.as_deref(), p.retry),
            (Phase::Failed, Some("offline"), Some(Retry::Resend))
        );

        let done = server(UploadStatus::Done, Stage::Finalizing, Some(7));
        assert_eq!(phase(&Sending::Elsewhere, Some(&done)).detail, "Done: 7 pages");

        let queued =
            |ahead| ServerState { ahead, ..server(UploadStatus::Queued, Stage::Receiving, None) };
        let said: Vec<String> = [None, Some(0), Some(3), Some(40)]
            .map(|ahead| phase(&Sending::Finished, Some(&queued(ahead))).detail)
            .to_vec();
        assert_eq!(
            said,
            ["Waiting for a worker", "Next in line", "3 jobs ahead", "Up to 40 jobs ahead"]
        );
    }

    #[test]
    fn a_cancel_while_sending_is_resent_and_a_stored_failure_retried_on_the_server() {
        let cut = ServerState {
            error: Some(ErrorBody::new(ErrorCode::UploadAborted, "the client stopped")),
            stored: false,
            ..server(UploadStatus::Failed, Stage::Receiving, None)
        };
        let p = phase(&Sending::Cancelled, Some(&cut));
        assert_eq!((p.phase, p.retry), (Phase::Cancelled, Some(Retry::Resend)));
        assert!(p.phase.finished() && !p.phase.cancellable());

        let done = server(UploadStatus::Done, Stage::Finalizing, None);
        assert_eq!(
            phase(&Sending::Cancelled, Some(&done)).phase,
            Phase::Done,
            "it got through first"
        );

        let corrupt = ServerState {
            error: Some(ErrorBody::new(ErrorCode::Corrupt, "damaged")),
            ..server(UploadStatus::Failed, Stage::Extracting, None)
        };
        assert_eq!(phase(&Sending::Finished, Some(&corrupt)).retry, Some(Retry::OnServer));
        let refused = ServerState {
            error: Some(ErrorBody::new(ErrorCode::UnsupportedType, "no")),
            stored: true,
            ..corrupt
        };
        assert_eq!(phase(&Sending::Finished, Some(&refused)).retry, None);
        let paused = phase(&Sending::Paused { loaded: 1024, total: 2048 }, None);
        assert_eq!(
            (paused.phase, paused.detail.as_str()),
            (Phase::Sending, "Paused at 1.0 KiB of 2.0 KiB")
        );
        let lost = phase(&Sending::Reconnecting { loaded: 1, total: 2 }, None);
        assert_eq!(lost.detail, "Connection lost, resuming…");
        let sending = phase(&Sending::Sent { loaded: 1, total: 2 }, None);
        assert!(sending.phase.cancellable() && !sending.phase.finished());
    }
}
