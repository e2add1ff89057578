//! PDF extraction in a child process with a memory cap, so that a hostile file (a
//! decompression bomb, nesting deep enough to overflow the stack, a parser panic) brings
//! down only the child: its upload fails with a code and the server carries on.
//!
//! The server starts its own executable again with [`CHILD_COMMAND`]. The parent streams
//! the stored bytes into the child's stdin (the server never holds the file) and reads
//! one JSON line per page from its stdout; the pipe's small buffer keeps the child at
//! most a page or two ahead of what is recorded. The child is started with an empty
//! environment in `/`, and confines itself (its memory, CPU, descriptors, no filesystem,
//! no network, no new programs: `confine.rs`) before reading anything. The job's
//! deadline, a cancel or a shutdown drops the [`Extraction`], which kills the child; the
//! server's own death kills it too.

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

use super::{
    confine::{self, Confined, Enforced, Limits},
    pdf::{self, PageText, PdfError},
};
use crate::store::BlobReader;

/// The first argument that makes `uplink` an extraction child instead of a server.
pub const CHILD_COMMAND: &str = "__extract-pdf";

/// The longest line the child may send: one page's text, JSON-escaped.
const MAX_FRAME: u64 = 64 << 20;

/// The child's exit status when it could not confine itself.
const CONFINEMENT_FAILED: u8 = 3;

/// What of the child's stderr is kept to explain its death.
const MAX_STDERR: u64 = 16 << 10;

/// How to start a child.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The `uplink` executable. (Tests name it: their own executable is the test harness.)
    pub program: PathBuf,
    /// The child's memory cap (`RLIMIT_DATA`), in bytes.
    pub memory: u64,
    /// The child's CPU time cap, in seconds: a backstop behind the job's own deadline.
    pub cpu_secs: u64,
}

/// One line from the child.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Frame {
    /// The child's first word: which optional confinement took effect.
    Confined(Confined),
    Page(PageText),
    Done {
        pages: u32,
    },
    Encrypted,
    Corrupt {
        detail: String,
    },
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
    /// How a child is started, with its three pipes. (Public for the confinement test,
    /// which starts a child of its own this same way.)
    ///
    /// The child's death signal fires when the *thread* that started it exits, not only
    /// the process: children are started from the runtime's long-lived worker threads,
    /// never from `spawn_blocking` threads, which end when idle.
    pub fn command(&self, skip: u32) -> Command {
        let parent = std::process::id().to_string();
        let mut command = Command::new(&self.program);
        command
            .args([
                CHILD_COMMAND,
                &skip.to_string(),
                &self.memory.to_string(),
                &self.cpu_secs.to_string(),
                &parent,
            ])
            // Nothing of the server's: no secrets in its environment, no relative path
            // that would reach the data directory.
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts a child that extracts the pages after `skip` from `head` followed by the
    /// rest of `reader`.
    pub fn start(&self, skip: u32, head: Vec<u8>, mut rest: BlobReader) -> io::Result<Extraction> {
        let mut child = self.command(skip).spawn()?;
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
        loop {
            let mut line = Vec::new();
            let read = (&mut self.stdout).take(MAX_FRAME).read_until(b'\n', &mut line).await;
            read.map_err(Failure::Io)?;
            if line.is_empty() {
                return Err(self.died().await);
            }
            if line.last() != Some(&b'\n') {
                return Err(Failure::TooComplex("a page's text is larger than 64 MiB"));
            }
            return match serde_json::from_slice::<Frame>(&line) {
                Ok(Frame::Confined(confined)) => {
                    warn_once_unconfined(confined);
                    continue;
                }
                Ok(Frame::Page(page)) => Ok(Step::Page(page)),
                Ok(Frame::Done { pages }) => Ok(Step::Done(pages)),
                Ok(Frame::Encrypted) => Err(Failure::Encrypted),
                Ok(Frame::Corrupt { detail }) => {
                    Err(self.unless_unfed(Failure::Corrupt(detail)).await)
                }
                Err(e) => {
                    Err(Failure::Io(io::Error::other(format!("unreadable child output: {e}"))))
                }
            };
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
        if status.code() == Some(CONFINEMENT_FAILED.into()) {
            // Not the file's fault: every extraction would fail the same way.
            let error = format!("the extraction child could not confine itself: {}", stderr.trim());
            Failure::Io(io::Error::other(error))
        } else if stderr.contains("memory allocation of") {
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

/// Logs, once per server, that the kernel has no Landlock (or an old one): extraction
/// children then run with every other layer of their confinement.
fn warn_once_unconfined(confined: Confined) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let missing = match confined.landlock {
        Enforced::Fully => return,
        Enforced::Partly => "only part of its Landlock restrictions (an older kernel)",
        Enforced::Not => "no Landlock restrictions (the kernel has none)",
    };
    WARNED.call_once(|| {
        tracing::warn!(
            "PDF extraction runs with {missing}: the other layers of its confinement still apply"
        );
    });
}

/// The child's whole life: `uplink __extract-pdf <skip> <memory bytes> <cpu seconds>
/// <parent pid>`, the PDF on stdin, frames on stdout.
pub fn run_child(args: &[String]) -> ExitCode {
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let (Some(skip), Some(memory), Some(cpu_secs), Some(parent)) =
        (args.first().and_then(|a| a.parse::<u32>().ok()), number(1), number(2), number(3))
    else {
        eprintln!(
            "usage: uplink {CHILD_COMMAND} <pages to skip> <memory cap in bytes> <cpu seconds> <parent pid>"
        );
        return ExitCode::from(2);
    };
    let confined = match confine::confine(parent as u32, Limits { memory, cpu_secs }) {
        Ok(confined) => confined,
        Err(e) => {
            eprintln!("cannot confine the extraction: {e}");
            return ExitCode::from(CONFINEMENT_FAILED);
        }
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    if !send(&mut out, &Frame::Confined(confined)) {
        return ExitCode::FAILURE;
    }
    let mut bytes = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut bytes) {
        eprintln!("reading the PDF: {e}");
        return ExitCode::FAILURE;
    }
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
