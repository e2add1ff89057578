//! One job: sniff, extract, finish, reporting each step through the recorder.

use std::{sync::Arc, time::Duration};

use shared::{ErrorBody, ErrorCode, Stage, Upload, UploadId, UploadStatus};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::{
    document, encoding,
    ocr::Ocr,
    picture,
    sandbox::Sandbox,
    sniff::{sniff, Kind, SNIFF_LEN},
};
use crate::{
    domain::Change,
    events::Recorder,
    store::{BlobKey, BlobReader, BlobStore, BlobWriter, ChangeError, Claim, JobQueue, StoreError},
};

/// What a worker needs.
#[derive(Clone)]
pub struct WorkerContext {
    pub recorder: Arc<Recorder>,
    pub blobs: Arc<dyn BlobStore>,
    pub job_timeout: Duration,
    pub sandbox: Sandbox,
    /// How pages without text are read; `None` when OCR is off.
    pub ocr: Option<Ocr>,
    /// The queue jobs are claimed from, and how long a claim lasts unrenewed.
    pub queue: Arc<dyn JobQueue>,
    pub lease: Duration,
}

/// Why a job ended without `done`.
pub(super) enum JobError {
    /// The upload failed; tell the world.
    Failed(ErrorBody),
    /// Cancelled, deleted or shut down: someone else already said what happened.
    Stopped,
    /// The store could not say whether this run still holds its job: the run stops
    /// without a word, and the job runs again once its claim lapses.
    Unsure(StoreError),
    Store(StoreError),
    Io(std::io::Error),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::Stopped,
            other => Self::Store(other),
        }
    }
}

impl From<ChangeError> for JobError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Store(e) => e.into(),
            // Cancelled, or a retry began: this attempt is over.
            ChangeError::Refused(_) => Self::Stopped,
        }
    }
}

impl From<std::io::Error> for JobError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Runs attempt `attempt` of the job for `id` to its end. Never panics the worker: every
/// failure ends as the upload's own `failed` status. Returns whether the job is over;
/// not when the store could not be reached to begin it or to say how it ended, so that
/// it runs again once its claim lapses.
pub async fn process(
    context: &WorkerContext,
    id: &UploadId,
    (attempt, claim): (u32, u64),
    cancel: &CancellationToken,
) -> bool {
    let upload = match context.recorder.repo().get(id).await {
        Ok(Some(upload)) => upload,
        Ok(None) => return true,
        Err(e) => {
            tracing::error!(upload = %id, error = %e, "could not load a job");
            return false;
        }
    };
    // Every change this job makes is fenced by the attempt it claimed: once the upload was
    // cancelled and retried, a late change from this job is refused instead of joining
    // the next run (and a job claimed for an attempt already over changes nothing). On a
    // shared queue it is fenced by its claim too: see `Change::claim`.
    let job = Job { context, id, attempt, claim };
    let outcome = run(&job, upload, cancel).await;
    let error = match outcome {
        Ok(()) | Err(JobError::Stopped) => return true,
        Err(JobError::Unsure(e)) => {
            tracing::warn!(upload = %id, error = %e, "could not tell whether this run still holds its job");
            return false;
        }
        Err(JobError::Failed(error)) => error,
        Err(JobError::Store(e)) => {
            tracing::error!(upload = %id, error = %e, "processing failed in the store");
            ErrorBody::new(ErrorCode::ProcessingFailed, "processing failed on the server")
        }
        Err(JobError::Io(e)) => {
            tracing::error!(upload = %id, error = %e, "processing failed reading or writing");
            ErrorBody::new(ErrorCode::ProcessingFailed, "processing failed on the server")
        }
    };
    if cancel.is_cancelled() {
        return true;
    }
    tracing::info!(upload = %id, code = error.code.as_str(), message = %error.message, "upload failed");
    let failed = Change::failed(UploadStatus::Failed, error);
    match job.record(failed).await {
        // Refused: the upload moved on (cancelled, taken over); nothing is left to do.
        Ok(_) | Err(ChangeError::Refused(_)) | Err(ChangeError::Store(StoreError::NotFound)) => {
            true
        }
        Err(ChangeError::Store(e)) => {
            tracing::warn!(upload = %id, error = %e, "could not record a failure");
            false
        }
    }
}

/// One run of one upload.
pub(super) struct Job<'a> {
    pub context: &'a WorkerContext,
    pub id: &'a UploadId,
    attempt: u32,
    claim: u64,
}

impl Job<'_> {
    pub async fn record(&self, change: Change) -> Result<Upload, ChangeError> {
        let change = Change { attempt: Some(self.attempt), claim: Some(self.claim), ..change };
        self.context.recorder.record(self.id, change).await
    }

    /// Commits a blob this job wrote, if writing it succeeded and the job is still this
    /// run's: a run whose claim was taken over while it stalled must not replace what
    /// the new holder stored (its changes are refused by the store, but a blob is not a
    /// change). Otherwise the blob is thrown away.
    async fn settle<E: From<std::io::Error> + From<JobError>>(
        &self,
        writer: Box<dyn BlobWriter>,
        written: Result<(), E>,
    ) -> Result<(), E> {
        if written.is_ok() {
            if let Err(lost) = self.still_held().await {
                writer.abort().await;
                return Err(lost.into());
            }
        }
        settle(writer, written).await
    }

    /// The run's claim still holds the job: renewed now, so it holds for a lease more.
    async fn still_held(&self) -> Result<(), JobError> {
        let claim = Claim { upload: self.id.clone(), attempt: self.attempt, token: self.claim };
        match self.context.queue.renew(&claim, self.context.lease).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(JobError::Stopped),
            Err(error) => Err(JobError::Unsure(error)),
        }
    }
}

async fn run(job: &Job<'_>, upload: Upload, cancel: &CancellationToken) -> Result<(), JobError> {
    let (context, id) = (job.context, job.id);
    let recorder = &context.recorder;
    // A job found `processing` was interrupted by a restart: it resumes from its checkpoint.
    let resuming = match upload.status {
        UploadStatus::Queued => false,
        UploadStatus::Processing => true,
        _ => return Ok(()),
    };

    let (mut reader, _) = context.blobs.open(&BlobKey::Original(id.clone())).await?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut reader).take(SNIFF_LEN as u64).read_to_end(&mut head).await?;
    let kind = sniff(&head);
    if resuming && upload.content_type.is_some() {
        let resumed = Change {
            status: Some(UploadStatus::Processing),
            message: Some("resuming after a server restart".into()),
            ..Change::default()
        };
        job.record(resumed).await?;
    } else {
        job.record(stage(Stage::Validating, Stage::Validating.percent(0, 1))).await?;
        let sniffed = Change {
            content_type: Some(kind.mime().to_owned()),
            ..stage(Stage::Validating, Stage::Validating.percent(1, 1))
        };
        job.record(sniffed).await?;
    }
    // The name promises a PDF and the bytes are not one: the user meant a document, and
    // "done" with nothing extracted would hide that it is broken.
    if kind != Kind::Pdf && upload.filename.to_ascii_lowercase().ends_with(".pdf") {
        return Err(JobError::Failed(ErrorBody::new(
            ErrorCode::Corrupt,
            "this file is named .pdf but is not a PDF",
        )));
    }

    let mut found = Change::default();
    let pages = match kind {
        Kind::Png | Kind::Jpeg | Kind::Gif | Kind::Webp => {
            found = picture(job, (head, reader), upload.size).await?;
            None
        }
        Kind::Pdf => {
            let checkpoint = recorder.repo().pages_done(id).await?;
            let first = Box::pin(std::io::Cursor::new(head).chain(reader));
            Some(document::extract(job, first, checkpoint, cancel).await?)
        }
        Kind::Latin1Text => {
            utf8_copy(job, (head, reader)).await?;
            None
        }
        _ => None,
    };
    job.record(stage(Stage::Finalizing, Stage::Finalizing.percent(0, 1))).await?;
    if pages.is_some() {
        assemble_text(job).await?;
    }
    let finish = Change {
        status: Some(UploadStatus::Done),
        pages,
        has_text: Some(matches!(kind, Kind::Pdf | Kind::Text | Kind::Latin1Text)),
        ..found
    };
    // Also drops the page texts: they are in the text blob now.
    job.record(finish).await?;
    Ok(())
}

/// Writes the stored page texts into the text blob, pages separated by form feeds.
async fn assemble_text(job: &Job<'_>) -> Result<(), JobError> {
    const BATCH: u32 = 64;
    let (context, id) = (job.context, job.id);
    let mut text = context.blobs.create(&BlobKey::Text(id.clone())).await?;
    let mut after = 0;
    let written = async {
        loop {
            let batch = context.recorder.repo().page_texts(id, after, BATCH).await?;
            let Some(&(last, _)) = batch.last() else { return Ok::<(), JobError>(()) };
            for (page, page_text) in &batch {
                if *page > 1 {
                    text.write(b"\x0c").await?;
                }
                text.write(page_text.as_bytes()).await?;
            }
            after = last;
        }
    }
    .await;
    job.settle(text, written).await
}

/// Commits a blob whose writing succeeded; otherwise throws the partial blob away and
/// passes the error on.
async fn settle<E: From<std::io::Error>>(
    writer: Box<dyn BlobWriter>,
    written: Result<(), E>,
) -> Result<(), E> {
    match written {
        Ok(()) => Ok(writer.commit().await?),
        Err(e) => {
            writer.abort().await;
            Err(e)
        }
    }
}

/// An image's dimensions and thumbnail (stored as a blob), as the change that finishes
/// it will record them. Files too large to decode here get the dimensions their first
/// MiB states (a JPEG's may follow long metadata), or none: they are still done.
async fn picture(
    job: &Job<'_>,
    (head, rest): (Vec<u8>, BlobReader),
    size: u64,
) -> Result<Change, JobError> {
    let decoded = if size <= picture::MAX_DECODED_FILE {
        let mut bytes = head;
        rest.take(picture::MAX_DECODED_FILE).read_to_end(&mut bytes).await?;
        tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(|| picture::read(&bytes)).unwrap_or_else(|_| {
                Err(picture::PictureError::Corrupt("the image decoder panicked".into()))
            })
        })
        .await
        .map_err(|e| JobError::Io(std::io::Error::other(e)))?
    } else {
        let mut start = head;
        rest.take(picture::HEADER_WINDOW).read_to_end(&mut start).await?;
        let dimensions = picture::dimensions(&start).ok();
        return Ok(Change { dimensions, has_thumbnail: Some(false), ..Change::default() });
    };
    let picture = decoded.map_err(|error| {
        tracing::info!(upload = %job.id, ?error, "unreadable image");
        JobError::Failed(match error {
            picture::PictureError::Corrupt(_) => {
                ErrorBody::new(ErrorCode::Corrupt, "this image is damaged and cannot be read")
            }
            picture::PictureError::TooLarge(why) => ErrorBody::new(
                ErrorCode::TooComplex,
                format!("this image is too large to process ({why})"),
            ),
        })
    })?;
    if let Some(png) = &picture.thumbnail {
        let mut thumbnail = job.context.blobs.create(&BlobKey::Thumbnail(job.id.clone())).await?;
        let written = thumbnail.write(png).await;
        job.settle(thumbnail, written.map_err(JobError::from)).await?;
    }
    Ok(Change {
        dimensions: Some((picture.width, picture.height)),
        has_thumbnail: Some(picture.thumbnail.is_some()),
        ..Change::default()
    })
}

/// Writes a Windows-1252 text file's UTF-8 copy into the text blob, a chunk at a time.
async fn utf8_copy(job: &Job<'_>, (head, mut rest): (Vec<u8>, BlobReader)) -> Result<(), JobError> {
    let mut text = job.context.blobs.create(&BlobKey::Text(job.id.clone())).await?;
    let written = async {
        text.write(encoding::latin1_to_utf8(&head).as_bytes()).await?;
        let mut chunk = vec![0; 64 * 1024];
        loop {
            let n = rest.read(&mut chunk).await?;
            if n == 0 {
                return Ok::<(), std::io::Error>(());
            }
            text.write(encoding::latin1_to_utf8(&chunk[..n]).as_bytes()).await?;
        }
    }
    .await;
    job.settle(text, written.map_err(JobError::from)).await
}

pub(super) fn stage(stage: Stage, percent: u8) -> Change {
    Change {
        status: Some(UploadStatus::Processing),
        stage: Some(stage),
        percent: Some(percent),
        ..Change::default()
    }
}
