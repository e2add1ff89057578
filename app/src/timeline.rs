//! An upload's history from its logged events, as the detail page lists it. A run of
//! events in the same stage (every page read, every chunk received) becomes one row, so a
//! 3,000-page PDF reads as a handful of steps with their times.

use shared::{ErrorCode, LoggedEvent, ProgressEvent, UploadEvent, UploadStatus};

use crate::format;

/// One step of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `progress`, `done` or `error`: for styling.
    pub kind: &'static str,
    pub label: String,
    pub detail: String,
    /// When the step began and, for a run of events, when its last event came.
    pub first_at: String,
    pub last_at: Option<String>,
    /// How many events it stands for.
    pub events: usize,
}

/// What makes consecutive progress events one step.
fn step(p: &ProgressEvent) -> (u32, UploadStatus, Option<shared::Stage>) {
    (p.attempt, p.status, p.stage)
}

fn label(p: &ProgressEvent) -> String {
    let what = match p.status {
        UploadStatus::Uploading => "Receiving".to_owned(),
        UploadStatus::Queued => "Queued".to_owned(),
        _ => p.stage.map_or("Processing", |s| s.label()).to_owned(),
    };
    if p.attempt > 1 {
        format!("{what} (attempt {})", p.attempt)
    } else {
        what
    }
}

fn detail(first: &ProgressEvent, last: &ProgressEvent) -> String {
    match (first.status, first.page.zip(last.page), last.pages) {
        (UploadStatus::Uploading, _, _) => last
            .bytes_received
            .map(|b| format!("{} received", format::bytes(b)))
            .unwrap_or_default(),
        (_, Some((a, b)), Some(n)) if a == b => format!("page {a} of {n}"),
        (_, Some((a, b)), Some(n)) => format!("pages {a}–{b} of {n}"),
        (UploadStatus::Queued, _, _) => match last.ahead {
            Some(0) => "next in line".to_owned(),
            Some(n) => format!("{n} ahead"),
            None => String::new(),
        },
        _ => String::new(),
    }
}

pub fn rows(events: &[LoggedEvent]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut run: Option<(&ProgressEvent, &ProgressEvent, usize)> = None;
    let flush = |rows: &mut Vec<Row>, run: Option<(&ProgressEvent, &ProgressEvent, usize)>| {
        if let Some((first, last, n)) = run {
            rows.push(Row {
                kind: "progress",
                label: label(first),
                detail: detail(first, last),
                first_at: first.at.clone(),
                last_at: (n > 1).then(|| last.at.clone()),
                events: n,
            });
        }
    };
    for logged in events {
        match &logged.event {
            UploadEvent::Progress(p) => {
                run = match run {
                    Some((first, _, n)) if step(first) == step(p) => Some((first, p, n + 1)),
                    other => {
                        flush(&mut rows, other);
                        Some((p, p, 1))
                    }
                };
            }
            UploadEvent::Done(d) => {
                flush(&mut rows, run.take());
                let detail = match (d.upload.pages, d.upload.width.zip(d.upload.height)) {
                    (Some(n), _) => format!("{n} page{}", if n == 1 { "" } else { "s" }),
                    (None, Some((w, h))) => format!("{w} × {h}"),
                    _ => String::new(),
                };
                rows.push(Row {
                    kind: "done",
                    label: "Done".into(),
                    detail,
                    first_at: d.at.clone(),
                    last_at: None,
                    events: 1,
                });
            }
            UploadEvent::Error(e) => {
                flush(&mut rows, run.take());
                let cancelled = matches!(e.code, ErrorCode::Cancelled | ErrorCode::Deleted);
                rows.push(Row {
                    kind: "error",
                    label: if cancelled { "Cancelled" } else { "Failed" }.into(),
                    detail: e.message.clone(),
                    first_at: e.at.clone(),
                    last_at: None,
                    events: 1,
                });
            }
        }
    }
    flush(&mut rows, run);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::{ErrorEvent, Stage, UploadId};

    fn id() -> UploadId {
        UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap()
    }

    fn progress(n: i64, status: UploadStatus, stage: Stage, page: Option<u32>) -> LoggedEvent {
        LoggedEvent {
            id: n,
            event: UploadEvent::Progress(ProgressEvent {
                upload_id: id(),
                status,
                stage: Some(stage),
                percent: 50,
                bytes_received: Some(2048),
                bytes_total: None,
                page,
                pages: page.map(|_| 3),
                message: None,
                ahead: None,
                attempt: 1,
                at: format!("2026-11-22T10:00:0{n}.000Z"),
                upload: None,
            }),
        }
    }

    #[test]
    fn runs_of_one_stage_become_one_row() {
        use UploadStatus::*;
        let events = [
            progress(1, Uploading, Stage::Receiving, None),
            progress(2, Uploading, Stage::Receiving, None),
            progress(3, Queued, Stage::Receiving, None),
            progress(4, Processing, Stage::Extracting, Some(1)),
            progress(5, Processing, Stage::Extracting, Some(2)),
            progress(6, Processing, Stage::Extracting, Some(3)),
            LoggedEvent {
                id: 7,
                event: UploadEvent::Error(ErrorEvent {
                    upload_id: id(),
                    code: ErrorCode::Cancelled,
                    message: "the upload was cancelled".into(),
                    at: "2026-11-22T10:00:07.000Z".into(),
                }),
            },
        ];
        let rows = rows(&events);
        let said: Vec<(&str, &str, usize)> =
            rows.iter().map(|r| (r.label.as_str(), r.detail.as_str(), r.events)).collect();
        assert_eq!(
            said,
            [
                ("Receiving", "2.0 KiB received", 2),
                ("Queued", "", 1),
                ("Extracting text", "pages 1–3 of 3", 3),
                ("Cancelled", "the upload was cancelled", 1),
            ]
        );
        assert_eq!(rows[2].first_at, "2026-11-22T10:00:04.000Z");
        assert_eq!(rows[2].last_at.as_deref(), Some("2026-11-22T10:00:06.000Z"));
        assert_eq!(rows[1].last_at, None);
    }
}
