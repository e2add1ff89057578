//! The rules of an upload's life: how a change moves it and which event tells the world.
//!
//! Pure functions, so the invariants (percent never decreases, 100 only with `done`,
//! nothing after a terminal status) hold whichever store records the change.

use shared::{
    DoneEvent, ErrorBody, ErrorEvent, ProgressEvent, Stage, Upload, UploadEvent, UploadId,
    UploadStatus,
};

/// One step in an upload's life. Fields left `None` keep their value; the last four are
/// details the event carries but the upload does not keep.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub status: Option<UploadStatus>,
    pub stage: Option<Stage>,
    pub percent: Option<u8>,
    pub size: Option<u64>,
    pub content_type: Option<String>,
    pub sha256: Option<String>,
    pub pages: Option<u32>,
    pub has_text: Option<bool>,
    /// An image's width and height, and whether its thumbnail is stored.
    pub dimensions: Option<(u32, u32)>,
    pub has_thumbnail: Option<bool>,
    pub error: Option<ErrorBody>,
    pub bytes_received: Option<u64>,
    pub bytes_total: Option<u64>,
    pub page: Option<u32>,
    pub message: Option<String>,
    /// How many jobs are ahead of this queued one. Refused once it is no longer queued.
    pub ahead: Option<u32>,
    /// The event introduces the upload: it carries the whole `Upload`.
    pub introduce: bool,
    /// The text of `page`, stored with the event that announces it (never sent).
    pub page_text: Option<String>,
    /// The attempt this change belongs to: refused as finished once it is not the
    /// upload's current one (a job stopped by a cancel, reporting after a retry).
    pub attempt: Option<u32>,
    /// The job claim this change is written under. A store shared by several nodes
    /// refuses it as finished once the job was claimed again (this claim's lease ran out
    /// while its worker stalled), so a worker that wakes up late changes nothing; with
    /// one process there is no other claim to check against.
    pub claim: Option<u64>,
    /// Start the next attempt of a failed or cancelled upload: back to `queued` at 0
    /// percent. Every other field is ignored.
    pub retry: bool,
}

impl Change {
    /// The job failed (or was cancelled) with this error.
    pub fn failed(status: UploadStatus, error: ErrorBody) -> Self {
        Self { status: Some(status), error: Some(error), ..Self::default() }
    }
}

/// Why the rules refused a change: an outcome of the domain, not a failure of storage.
/// A request that meets one is answered `409 invalid_state` with this text.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The upload is already done, failed or cancelled.
    #[error("the upload has already finished")]
    Finished,
    /// A queue position for an upload that has left the queue.
    #[error("the upload is no longer queued")]
    NotQueued,
    /// A retry of an upload that has not failed, or whose bytes were never all stored;
    /// the reason in words for the person asking.
    #[error("{0}")]
    NotRetriable(String),
}

/// An upload whose first bytes are arriving now.
pub fn new_upload(id: UploadId, filename: String, client_ref: Option<String>, at: &str) -> Upload {
    Upload {
        id,
        filename,
        size: 0,
        content_type: None,
        sha256: None,
        status: UploadStatus::Uploading,
        stage: Some(Stage::Receiving),
        percent: 0,
        pages: None,
        error: None,
        created_at: at.to_owned(),
        updated_at: at.to_owned(),
        client_ref,
        has_text: false,
        attempt: 1,
        width: None,
        height: None,
        has_thumbnail: false,
    }
}

/// Applies `change` to `upload` at server time `at` and returns the event announcing it.
pub fn apply(upload: &mut Upload, change: Change, at: &str) -> Result<UploadEvent, Refused> {
    if change.attempt.is_some_and(|attempt| attempt != upload.attempt) {
        return Err(Refused::Finished);
    }
    if change.retry {
        return retry(upload, at);
    }
    if upload.status.is_terminal() {
        return Err(Refused::Finished);
    }
    if change.ahead.is_some() && upload.status != UploadStatus::Queued {
        return Err(Refused::NotQueued);
    }
    let detail = change.detail();
    let status = change.status.unwrap_or(upload.status);
    upload.status = status;
    if let Some(stage) = change.stage {
        upload.stage = Some(stage);
    }
    upload.percent = match status {
        UploadStatus::Done => 100,
        // A failure freezes the bar where it was.
        UploadStatus::Failed | UploadStatus::Cancelled => upload.percent,
        _ => upload.percent.max(change.percent.unwrap_or(0)).min(99),
    };
    if let Some(size) = change.size {
        upload.size = size;
    }
    if change.content_type.is_some() {
        upload.content_type = change.content_type;
    }
    if change.sha256.is_some() {
        upload.sha256 = change.sha256;
    }
    if change.pages.is_some() {
        upload.pages = change.pages;
    }
    if let Some(has_text) = change.has_text {
        upload.has_text = has_text;
    }
    if let Some((width, height)) = change.dimensions {
        (upload.width, upload.height) = (Some(width), Some(height));
    }
    if let Some(has_thumbnail) = change.has_thumbnail {
        upload.has_thumbnail = has_thumbnail;
    }
    if change.error.is_some() {
        upload.error = change.error;
    }
    upload.updated_at = at.to_owned();
    Ok(event_for(upload, &detail, at))
}

/// The next attempt: the same upload and bytes, everything processing found forgotten.
/// Its bar starts where processing starts: the bytes are all here already.
/// Its event carries the whole upload, so a client resets its view of it.
fn retry(upload: &mut Upload, at: &str) -> Result<UploadEvent, Refused> {
    if let Some(reason) = why_not_retriable(upload) {
        return Err(Refused::NotRetriable(reason));
    }
    upload.attempt += 1;
    upload.status = UploadStatus::Queued;
    upload.stage = None;
    upload.percent = Stage::Receiving.band().1;
    upload.pages = None;
    upload.has_text = false;
    (upload.width, upload.height, upload.has_thumbnail) = (None, None, false);
    upload.error = None;
    upload.updated_at = at.to_owned();
    let detail = Detail { introduce: true, ..Detail::default() };
    Ok(event_for(upload, &detail, at))
}

/// Why `upload` cannot be run again, in words for the person asking; `None` when it can:
/// it failed or was cancelled, with a retriable error, after all its bytes were stored.
pub fn why_not_retriable(upload: &Upload) -> Option<String> {
    let status = upload.status;
    if !matches!(status, UploadStatus::Failed | UploadStatus::Cancelled) {
        return Some(format!(
            "only a failed or cancelled upload can be retried; this one is {}",
            status.as_str()
        ));
    }
    let code = upload.error.as_ref().map_or("no error", |e| e.code.as_str());
    // Without a checksum its bytes never all arrived (cut off, or cancelled while sent).
    let stored = upload.sha256.is_some();
    let retriable = upload.error.as_ref().is_some_and(|e| e.code.retriable());
    let how = match status {
        UploadStatus::Cancelled => "was cancelled".to_owned(),
        _ => format!("failed with {code}"),
    };
    (!stored || !retriable).then(|| {
        format!("this upload cannot be retried: it {how} before all its bytes were stored")
    })
}

/// The event that tells a client the upload's present state: a snapshot, or the
/// announcement of a change.
pub fn event_for(upload: &Upload, detail: &Detail, at: &str) -> UploadEvent {
    let upload_id = upload.id.clone();
    match (upload.status, &upload.error) {
        (UploadStatus::Done, _) => {
            UploadEvent::Done(DoneEvent { upload_id, upload: upload.clone(), at: at.to_owned() })
        }
        (UploadStatus::Failed | UploadStatus::Cancelled, error) => {
            let error = error.clone().unwrap_or_else(|| {
                ErrorBody::new(shared::ErrorCode::Cancelled, "the upload was cancelled")
            });
            UploadEvent::Error(ErrorEvent {
                upload_id,
                code: error.code,
                message: error.message,
                at: at.to_owned(),
            })
        }
        (status, _) => UploadEvent::Progress(ProgressEvent {
            upload_id,
            status,
            stage: upload.stage,
            percent: upload.percent,
            bytes_received: detail.bytes_received,
            bytes_total: detail.bytes_total,
            page: detail.page,
            pages: upload.pages,
            message: detail.message.clone(),
            ahead: detail.ahead,
            attempt: upload.attempt,
            at: at.to_owned(),
            upload: detail.introduce.then(|| Box::new(upload.clone())),
        }),
    }
}

/// What a progress event says beyond the upload's own fields.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub bytes_received: Option<u64>,
    pub bytes_total: Option<u64>,
    pub page: Option<u32>,
    pub message: Option<String>,
    pub ahead: Option<u32>,
    /// Carry the whole upload (see `ProgressEvent::upload`).
    pub introduce: bool,
}

impl Change {
    fn detail(&self) -> Detail {
        Detail {
            bytes_received: self.bytes_received,
            bytes_total: self.bytes_total,
            page: self.page,
            message: self.message.clone(),
            ahead: self.ahead,
            introduce: self.introduce,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ErrorCode;

    fn upload() -> Upload {
        let id = UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap();
        new_upload(id, "a.pdf".into(), None, "t0")
    }

    fn to(percent: u8) -> Change {
        Change { percent: Some(percent), ..Change::default() }
    }

    #[test]
    fn percent_never_decreases_and_stops_at_99_until_done() {
        let mut u = upload();
        let seen: Vec<u8> = [30, 20, 120, 50]
            .into_iter()
            .map(|p| apply(&mut u, to(p), "t").unwrap().percent().unwrap())
            .collect();
        assert_eq!(seen, [30, 30, 99, 99]);
        let done = Change { status: Some(UploadStatus::Done), ..Change::default() };
        let event = apply(&mut u, done, "t1").unwrap();
        assert!(matches!(&event, UploadEvent::Done(d) if d.upload.percent == 100));
        assert_eq!(u.updated_at, "t1");
    }

    #[test]
    fn nothing_follows_a_terminal_status() {
        let mut u = upload();
        let failed =
            Change::failed(UploadStatus::Failed, ErrorBody::new(ErrorCode::Corrupt, "bad"));
        let event = apply(&mut u, failed, "t").unwrap();
        assert!(
            matches!(&event, UploadEvent::Error(e) if e.code == ErrorCode::Corrupt && e.message == "bad")
        );
        assert_eq!(apply(&mut u, to(50), "t"), Err(Refused::Finished));
        let done = Change { status: Some(UploadStatus::Done), ..Change::default() };
        assert_eq!(apply(&mut u, done, "t"), Err(Refused::Finished));
    }

    #[test]
    fn a_retry_starts_the_next_attempt_from_zero_and_only_after_a_retriable_failure() {
        let mut u = upload();
        u.sha256 = Some("ab".repeat(32));
        apply(&mut u, to(60), "t").unwrap();
        let retry = || Change { retry: true, ..Change::default() };
        assert!(
            matches!(apply(&mut u, retry(), "t"), Err(Refused::NotRetriable(_))),
            "still running"
        );
        let failed =
            Change::failed(UploadStatus::Failed, ErrorBody::new(ErrorCode::Timeout, "slow"));
        apply(&mut u, failed, "t").unwrap();
        let UploadEvent::Progress(p) = apply(&mut u, retry(), "t2").unwrap() else {
            panic!("a retry is announced by progress");
        };
        assert_eq!((p.status, p.percent, p.attempt), (UploadStatus::Queued, 40, 2));
        assert_eq!(p.upload.as_deref(), Some(&u), "it carries the reset upload");
        assert_eq!((u.error.as_ref(), u.pages, u.has_text), (None, None, false));
        apply(&mut u, to(45), "t3").unwrap();
        assert_eq!(u.percent, 45, "percent counts again within the new attempt");

        let mut aborted = upload();
        let never_stored =
            Change::failed(UploadStatus::Failed, ErrorBody::new(ErrorCode::UploadAborted, "x"));
        apply(&mut aborted, never_stored, "t").unwrap();
        assert!(matches!(apply(&mut aborted, retry(), "t"), Err(Refused::NotRetriable(_))));

        // Cancelled while its bytes were arriving: nothing whole to run again.
        let mut cut = upload();
        let cancelled =
            Change::failed(UploadStatus::Cancelled, ErrorBody::new(ErrorCode::Cancelled, "x"));
        apply(&mut cut, cancelled, "t").unwrap();
        assert!(matches!(apply(&mut cut, retry(), "t"), Err(Refused::NotRetriable(_))));
    }

    #[test]
    fn progress_events_carry_the_details_and_the_upload_state() {
        let mut u = upload();
        let change = Change {
            status: Some(UploadStatus::Processing),
            stage: Some(Stage::Extracting),
            percent: Some(60),
            pages: Some(9),
            page: Some(3),
            ..Change::default()
        };
        let UploadEvent::Progress(p) = apply(&mut u, change, "t").unwrap() else {
            panic!("expected progress");
        };
        assert_eq!(
            (p.status, p.stage, p.percent, p.page, p.pages),
            (UploadStatus::Processing, Some(Stage::Extracting), 60, Some(3), Some(9))
        );
    }
}
