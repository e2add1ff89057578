//! PDF extraction in a child process with a memory cap, so that a hostile file (a
//! decompression bomb, nesting deep enough to overflow the stack, a parser panic) brings
//! down only the child: its upload fails with a code and the server carries on.
//!
//! The server starts its own executable again with [`CHILD_COMMAND`]. The parent streams
//! the stored bytes into the child's stdin (the server never holds the file) and reads
//! one JSON line per page from its stdout; the pipe's small buffer keeps the child at
//! most a page or two ahead of what is recorded. The child caps its own memory
//! (`RLIMIT_DATA`) before reading anything. The job's deadline, a cancel or a shutdown
//! drops the [`Extraction`], which kills the child.

use std::{
    io::{self, Read, Write},
    path::PathBuf,
    process::{ExitCode, Stdio},
};

use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdout, Command},
    task::JoinHandle,
};

use super::pdf::{self, PageText, PdfError};
use crate::store::BlobReader;

/// The first argument that makes `uplink` an extraction child instead of a server.
pub const CHILD_COMMAND: &str = "__extract-pdf";

/// The longest line the child may send: one page's text, JSON-escaped.
const MAX_FRAME: u64 = 64 << 20;

/// What of the child's stderr is kept to explain its death.
const MAX_STDERR: u64 = 16 << 10;

/// How to start a child.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The `uplink` executable. (Tests name it: their own executable is the test harness.)
    pub program: PathBuf,
    /// The child's address-space cap, in bytes.
    pub memory: u64,
}

/// One line from the child.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Frame {
    Page(PageText),
    Done { pages: u32 },
    Encrypted,
    Corrupt { detail: String },
}

/// The next thing an extraction has to say.
#[derive(Debug)]
pub enum Step {
    Page(PageText),
    /// The end; the document's page count.
    Done(u32),
}

/// Why an extraction ended without [`Step::Done`].
#[derive(Debug)]
pub enum Failure {
    Encrypted,
    Corrupt(String),
    /// The child ran out of its memory cap, or of stack (say, which).
    TooComplex(&'static str),
    /// The server could not run the child or read the stored file.
    Io(io::Error),
}

/// A running child. Dropping it kills the child.
pub struct Extraction {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    feeding: Option<JoinHandle<io::Result<()>>>,
}

impl Sandbox {
    /// Starts a child that extracts the pages after `skip` from `head` followed by the
    /// rest of `reader`.
    pub fn start(&self, skip: u32, head: Vec<u8>, mut rest: BlobReader) -> io::Result<Extraction> {
        let mut child = Command::new(&self.program)
            .args([CHILD_COMMAND, &skip.to_string(), &self.memory.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("the extraction child has no pipes"));
        };
        let feeding = tokio::spawn(async move {
            stdin.write_all(&head).await?;
            tokio::io::copy(&mut rest, &mut stdin).await?;
            stdin.shutdown().await
        });
        let stderr = tokio::spawn(async move {
            let mut kept = Vec::new();
            let _ = (&mut { stderr }).take(MAX_STDERR).read_to_end(&mut kept).await;
            kept
        });
        Ok(Extraction {
            child,
            stdout: BufReader::new(stdout),
            stderr: Some(stderr),
            feeding: Some(feeding),
        })
    }
}

impl Extraction {
    /// The next page, or the end.
    pub async fn next(&mut self) -> Result<Step, Failure> {
        let mut line = Vec::new();
        let read = (&mut self.stdout).take(MAX_FRAME).read_until(b'\n', &mut line).await;
        read.map_err(Failure::Io)?;
        if line.is_empty() {
            return Err(self.died().await);
        }
        if line.last() != Some(&b'\n') {
            return Err(Failure::TooComplex("a page's text is larger than 64 MiB"));
        }
        match serde_json::from_slice::<Frame>(&line) {
            Ok(Frame::Page(page)) => Ok(Step::Page(page)),
            Ok(Frame::Done { pages }) => Ok(Step::Done(pages)),
            Ok(Frame::Encrypted) => Err(Failure::Encrypted),
            Ok(Frame::Corrupt { detail }) => Err(self.unless_unfed(Failure::Corrupt(detail)).await),
            Err(e) => Err(Failure::Io(io::Error::other(format!("unreadable child output: {e}")))),
        }
    }

    /// The child closed its output without a last word: it died. Its stderr says how.
    async fn died(&mut self) -> Failure {
        let status = match self.child.wait().await {
            Ok(status) => status,
            Err(e) => return Failure::Io(e),
        };
        let stderr = match self.stderr.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        let stderr = String::from_utf8_lossy(&stderr);
        if stderr.contains("memory allocation of") {
            Failure::TooComplex("it needs more memory than extraction is allowed")
        } else if stderr.contains("overflowed its stack") {
            Failure::TooComplex("it is nested too deeply")
        } else {
            let failure = Failure::Corrupt(format!("extraction {status}: {}", stderr.trim()));
            self.unless_unfed(failure).await
        }
    }

    /// A child that saw a truncated file says "corrupt"; if that is because the server
    /// failed reading the stored bytes, the server's error is the truth.
    async fn unless_unfed(&mut self, failure: Failure) -> Failure {
        let Some(feeding) = self.feeding.take() else { return failure };
        match feeding.await {
            Ok(Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => Failure::Io(e),
            _ => failure,
        }
    }
}

impl Drop for Extraction {
    fn drop(&mut self) {
        if let Some(feeding) = &self.feeding {
            feeding.abort();
        }
    }
}

/// The child's whole life: `uplink __extract-pdf <skip> <memory bytes>`, the PDF on
/// stdin, frames on stdout.
pub fn run_child(args: &[String]) -> ExitCode {
    let (Some(Ok(skip)), Some(Ok(memory))) =
        (args.first().map(|a| a.parse::<u32>()), args.get(1).map(|a| a.parse::<u64>()))
    else {
        eprintln!("usage: uplink {CHILD_COMMAND} <pages to skip> <memory cap in bytes>");
        return ExitCode::from(2);
    };
    // A child that a hostile file brought down leaves no core file behind.
    let _ = rlimit::setrlimit(rlimit::Resource::CORE, 0, 0);
    // DATA, not AS: it counts the heap and every private writable mapping (what a bomb
    // grows) but not the executable's own mapped code, so the cap means the same for a
    // 250 MB debug build as for a release one.
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::DATA, memory, memory) {
        eprintln!("cannot cap the extraction's memory: {e}");
        return ExitCode::FAILURE;
    }
    let mut bytes = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("reading the PDF: {e}");
        return ExitCode::FAILURE;
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    let last = match pdf::extract_pages(&bytes, skip, |page| send(&mut out, &Frame::Page(page))) {
        Ok(pages) => Frame::Done { pages },
        Err(PdfError::Encrypted) => Frame::Encrypted,
        Err(PdfError::Corrupt(detail)) => Frame::Corrupt { detail },
        // The parent stopped listening: nobody to tell.
        Err(PdfError::Stopped) => return ExitCode::FAILURE,
    };
    if send(&mut out, &last) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes one frame and flushes it, so the parent can record the page now.
fn send(out: &mut impl Write, frame: &Frame) -> bool {
    serde_json::to_writer(&mut *out, frame).is_ok()
        && out.write_all(b"\n").is_ok()
        && out.flush().is_ok()
}
