//! A PDF's job: its text page by page (`extracting`), then OCR for the pages that have
//! none but an image (`ocr`), each page stored with the event that announces it, all
//! within the job's deadline. Text that cannot be extracted in time fails the upload;
//! OCR that runs out of time stops, and the pages it did not reach keep what they had.
//!
//! Every pass reads the stored file again from the blob store, so the server never holds
//! it: the page count, the text, the list of images, and each page drawn for OCR.

use shared::{ErrorBody, ErrorCode, Stage, UploadId};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    ocr::{self, Ocr},
    poppler::Step,
    sandbox::Failure,
    worker::{stage, Job, JobError},
};
use crate::{
    domain::Change,
    store::{BlobKey, BlobReader},
};

/// Pages of stored text read at a time when looking for pages without text.
const BATCH: u32 = 256;

/// Extracts a PDF's text after page `checkpoint`, then reads the pages without text by
/// OCR. `first` is the stored file, for the first pass. Returns the page count.
pub(super) async fn extract(
    job: &Job<'_>,
    first: BlobReader,
    checkpoint: u32,
    cancel: &CancellationToken,
) -> Result<u32, JobError> {
    let context = job.context;
    let deadline = Instant::now() + context.job_timeout;
    let text = tokio::time::timeout_at(deadline, extract_text(job, first, checkpoint));
    let pages = tokio::select! {
        done = text => done.unwrap_or_else(|_| {
            Err(JobError::Failed(ErrorBody::new(
                ErrorCode::Timeout,
                format!("processing took longer than {} seconds", context.job_timeout.as_secs()),
            )))
        })?,
        _ = cancel.cancelled() => return Err(JobError::Stopped),
    };
    if let Some(ocr) = &context.ocr {
        tokio::select! {
            read = read_scans(job, ocr, pages, deadline) => read?,
            _ = cancel.cancelled() => return Err(JobError::Stopped),
        }
    }
    Ok(pages)
}

/// The stored file, read from its start.
async fn open(job: &Job<'_>) -> Result<BlobReader, JobError> {
    Ok(job.context.blobs.open(&BlobKey::Original(job.id.clone())).await?.0)
}

/// Every page after `checkpoint`, each recorded as it arrives; the page count. Dropping
/// the extraction on any way out kills its tool.
async fn extract_text(job: &Job<'_>, first: BlobReader, checkpoint: u32) -> Result<u32, JobError> {
    let sandbox = &job.context.sandbox;
    let extraction = sandbox.extract(first, open(job).await?, checkpoint).await;
    let mut extraction = extraction.map_err(|f| failed(job.id, f))?;
    loop {
        let page = match extraction.next().await {
            Ok(Step::Page(page)) => page,
            Ok(Step::Done(pages)) => return Ok(pages),
            Err(failure) => return Err(failed(job.id, failure)),
        };
        let percent = Stage::Extracting.percent(u64::from(page.page), u64::from(page.pages));
        let change = Change {
            pages: Some(page.pages),
            page: Some(page.page),
            page_text: Some(page.text),
            ..stage(Stage::Extracting, percent)
        };
        job.record(change).await?;
    }
}

/// OCR for each page whose stored text is scant and that draws an image: a scan. Found
/// from the stored texts, so a job resumed after a restart picks up where it was (a page
/// already read has its text now). Stops at `deadline`, saying so.
async fn read_scans(
    job: &Job<'_>,
    ocr: &Ocr,
    pages: u32,
    deadline: Instant,
) -> Result<(), JobError> {
    let repo = job.context.recorder.repo();
    let mut scant = Vec::new();
    let mut after = 0;
    loop {
        let batch = repo.page_texts(job.id, after, BATCH).await?;
        let Some(&(last, _)) = batch.last() else { break };
        scant.extend(batch.into_iter().filter(|(_, text)| ocr::is_scant(text)));
        after = last;
    }
    if scant.is_empty() {
        return Ok(());
    }
    let sandbox = &job.context.sandbox;
    let listed = tokio::time::timeout_at(deadline, sandbox.pages_with_images(open(job).await?));
    let images = match listed.await {
        Ok(Ok(images)) => images,
        Ok(Err(Failure::Io(e))) => return Err(JobError::Io(e)),
        // The text is there; without the list of images there is only no OCR.
        Ok(Err(failure)) => {
            tracing::warn!(upload = %job.id, ?failure, "could not list a PDF's images; no OCR");
            return Ok(());
        }
        Err(_) => return stopped(job, scant.len()).await,
    };
    scant.retain(|(page, _)| images.contains(page));
    let total = scant.len() as u64;
    for (done, (page, before)) in (1..).zip(scant) {
        let read =
            tokio::time::timeout_at(deadline, sandbox.read_page(ocr, open(job).await?, page));
        let text = match read.await {
            Err(_) => return stopped(job, (total - done + 1) as usize).await,
            Ok(Ok(Some(text))) => Some(text),
            Ok(Ok(None)) => {
                tracing::warn!(upload = %job.id, page, "OCR took too long; the page has no text");
                None
            }
            Ok(Err(Failure::Io(e))) => return Err(JobError::Io(e)),
            // One page the tools cannot read leaves that page as it was, not the file.
            Ok(Err(failure)) => {
                tracing::warn!(upload = %job.id, page, ?failure, "OCR failed on a page");
                None
            }
        };
        // A page number or a stamp that OCR read worse stays as extracted.
        let text = text.filter(|text| ocr::letters(text) > ocr::letters(&before));
        let change = Change {
            pages: Some(pages),
            page: Some(page),
            page_text: text,
            ..stage(Stage::Ocr, Stage::Ocr.percent(done, total))
        };
        job.record(change).await?;
    }
    Ok(())
}

/// OCR reached the job's time limit with `left` pages unread: the upload goes on to
/// `done` with the text it has, and its events say what was left.
async fn stopped(job: &Job<'_>, left: usize) -> Result<(), JobError> {
    let seconds = job.context.job_timeout.as_secs();
    let message = format!(
        "OCR stopped at the {seconds} s time limit; {left} scanned pages were left without text"
    );
    tracing::warn!(upload = %job.id, left, "OCR stopped at the job's time limit");
    let change = Change { message: Some(message), ..stage(Stage::Ocr, Stage::Ocr.band().1) };
    job.record(change).await?;
    Ok(())
}

/// What an extraction's failure means for the upload.
fn failed(id: &UploadId, failure: Failure) -> JobError {
    let error = match failure {
        Failure::Encrypted => ErrorBody::new(
            ErrorCode::Encrypted,
            "this PDF is encrypted; upload a copy without a password",
        ),
        Failure::Corrupt(detail) => {
            tracing::info!(upload = %id, %detail, "unreadable PDF");
            ErrorBody::new(ErrorCode::Corrupt, "this PDF is damaged and cannot be read")
        }
        Failure::TooComplex(why) => {
            tracing::warn!(upload = %id, why, "a PDF exceeded the extraction limits");
            ErrorBody::new(ErrorCode::TooComplex, format!("this PDF cannot be read: {why}"))
        }
        Failure::Io(e) => return JobError::Io(e),
    };
    JobError::Failed(error)
}
