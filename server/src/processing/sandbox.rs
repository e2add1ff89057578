//! Processing tools (poppler's utilities, Tesseract) run in confined child processes, so
//! that a hostile file (a decompression bomb, nesting deep enough to overflow a stack, an
//! exploit of a parser written in C++) brings down only the child: its upload fails with
//! a code and the server carries on.
//!
//! The server starts its own executable again with [`CHILD_COMMAND`], which confines
//! itself (`confine.rs`: its memory, CPU, descriptors, reading only the system's program
//! and data files, writing nothing, no network, no new processes) and then becomes the
//! tool with `execve`, keeping every restriction. The parent streams the stored bytes
//! into the tool's stdin (the server never holds the file, and the tool never sees the
//! data directory) and reads its stdout as it comes. The child starts with an empty
//! environment in `/`. The job's deadline, a cancel or a shutdown drops the [`Running`]
//! tool, which kills it; the server's own death kills it too.

use std::{
    io,
    os::unix::process::{CommandExt, ExitStatusExt},
    path::PathBuf,
    process::{ExitCode, Stdio},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdout, Command},
    task::JoinHandle,
};

use super::confine::{self, Enforced, Limits, Reach};
use crate::store::BlobReader;

/// The first argument that makes `uplink` a confined tool instead of a server.
pub const CHILD_COMMAND: &str = "__confined";

/// The child's exit status when it could not confine itself or start its tool (125, as
/// `env` and container runtimes use for their own failure, apart from any tool's).
const CONFINEMENT_FAILED: u8 = 125;

/// What the child writes to stderr before its tool starts when the kernel could not
/// enforce all of Landlock.
const PARTLY_CONFINED: &str = "uplink: confined without full Landlock: ";

/// What of a tool's stderr is kept to explain its failure.
const MAX_STDERR: u64 = 16 << 10;

/// The programs a confined child may become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    PdfInfo,
    PdfToText,
    PdfImages,
    PdfToPpm,
    Tesseract,
}

impl Tool {
    const ALL: [Tool; 5] =
        [Self::PdfInfo, Self::PdfToText, Self::PdfImages, Self::PdfToPpm, Self::Tesseract];

    /// Where Debian installs it (`poppler-utils`, `tesseract-ocr`).
    pub fn path(self) -> &'static str {
        match self {
            Self::PdfInfo => "/usr/bin/pdfinfo",
            Self::PdfToText => "/usr/bin/pdftotext",
            Self::PdfImages => "/usr/bin/pdfimages",
            Self::PdfToPpm => "/usr/bin/pdftoppm",
            Self::Tesseract => "/usr/bin/tesseract",
        }
    }
}

impl Tool {
    /// Fails, saying what to install, unless poppler's utilities are there.
    pub fn check_poppler() -> io::Result<()> {
        let poppler = [Self::PdfInfo, Self::PdfToText, Self::PdfImages, Self::PdfToPpm];
        match poppler.iter().find(|tool| !std::path::Path::new(tool.path()).exists()) {
            None => Ok(()),
            Some(tool) => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("PDF extraction needs {} (apt-get install poppler-utils)", tool.path()),
            )),
        }
    }
}

/// What every tool may read and run: the tools and the dynamic loader (executed), their
/// libraries (read: the loader maps them, which Landlock does not count as executing),
/// and the system's data files they use (poppler's encodings, fonts for rendering,
/// Tesseract's language models). Nothing that holds a secret or a user's data.
pub fn reach() -> Reach {
    // Where each architecture's loader is; those that exist here are granted.
    let loaders = [
        "/lib64/ld-linux-x86-64.so.2",
        "/lib/ld-linux-aarch64.so.1",
        "/lib/ld-linux-armhf.so.3",
        "/lib/ld-linux.so.2",
    ];
    let mut execute: Vec<PathBuf> = Tool::ALL.iter().map(|tool| tool.path().into()).collect();
    execute.extend(loaders.iter().map(PathBuf::from));
    let read = [
        "/usr/lib",
        "/usr/lib64",
        "/lib",
        "/lib64",
        "/etc/ld.so.cache",
        "/etc/fonts",
        "/usr/share/fonts",
        "/var/cache/fontconfig",
        "/usr/share/poppler",
        "/usr/share/tesseract-ocr",
    ];
    Reach { read: read.iter().map(PathBuf::from).collect(), execute }
}

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

/// Why a tool's run ended without its result.
#[derive(Debug)]
pub enum Failure {
    Encrypted,
    Corrupt(String),
    /// The tool ran out of its memory cap, or crashed on the file (say, which).
    TooComplex(&'static str),
    /// The server could not run the tool or read the stored file.
    Io(io::Error),
}

/// A running tool. Dropping it kills the child.
pub struct Running {
    child: Child,
    /// `None` once piped into another tool.
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    feeding: Option<JoinHandle<io::Result<()>>>,
}

impl Sandbox {
    /// Runs one confined tool to its end (`pdfinfo -v`), so a machine where tools cannot
    /// be confined (no Landlock, say) is found at start-up, not on every PDF.
    pub fn check(&self) -> io::Result<()> {
        let mut command = self.command(Tool::PdfInfo.path(), &["-v"]);
        let output = command.as_std_mut().stdin(Stdio::null()).output()?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(io::Error::other(format!(
            "processing tools cannot be confined here: {}",
            stderr.trim()
        )))
    }

    /// How a confined `tool` is started with `args`, with its three pipes. (Public for
    /// the confinement test, which starts a child of its own this same way.)
    ///
    /// The child's death signal fires when the *thread* that started it exits, not only
    /// the process: children are started from the runtime's long-lived worker threads,
    /// never from `spawn_blocking` threads, which end when idle.
    pub fn command(&self, tool: &str, args: &[&str]) -> Command {
        let parent = std::process::id().to_string();
        let mut command = Command::new(&self.program);
        command
            .args([CHILD_COMMAND, &self.memory.to_string(), &self.cpu_secs.to_string(), &parent])
            .arg(tool)
            .args(args)
            // Nothing of the server's: no secrets in its environment, no relative path
            // that would reach the data directory. Tesseract is held to one thread (the
            // child may start none).
            .env_clear()
            .env("OMP_THREAD_LIMIT", "1")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts `tool` on `input`, streamed to its stdin.
    pub fn run(&self, tool: Tool, args: &[&str], input: BlobReader) -> io::Result<Running> {
        self.start(self.command(tool.path(), args), Some(input))
    }

    /// Starts `tool` reading `from`'s output, which is then the new tool's alone.
    pub fn run_after(&self, tool: Tool, args: &[&str], from: &mut Running) -> io::Result<Running> {
        let mut command = self.command(tool.path(), args);
        let output = from.stdout.take().ok_or_else(|| io::Error::other("piped away already"))?;
        let stdin: Stdio = output.into_inner().try_into()?;
        command.stdin(stdin);
        self.start(command, None)
    }

    fn start(&self, mut command: Command, input: Option<BlobReader>) -> io::Result<Running> {
        let mut child = command.spawn()?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io::Error::other("the confined child has no pipes"));
        };
        let feeding = match (input, child.stdin.take()) {
            (Some(mut input), Some(mut stdin)) => Some(tokio::spawn(async move {
                tokio::io::copy(&mut input, &mut stdin).await?;
                stdin.shutdown().await
            })),
            _ => None,
        };
        let stderr = tokio::spawn(keep_the_end(stderr));
        let stdout = Some(BufReader::new(stdout));
        Ok(Running { child, stdout, stderr: Some(stderr), feeding })
    }
}

impl Running {
    /// What the tool writes, as it comes.
    pub fn stdout(&mut self) -> io::Result<&mut BufReader<ChildStdout>> {
        self.stdout.as_mut().ok_or_else(|| io::Error::other("its output was piped away"))
    }

    /// Waits for the tool to exit: `Ok` if it succeeded, otherwise what its exit status
    /// and its stderr say went wrong. A tool that read a file cut short because the
    /// server failed to read the stored bytes is the server's failure, however it ended.
    pub async fn finish(&mut self) -> Result<(), Failure> {
        let status = self.child.wait().await.map_err(Failure::Io)?;
        let stderr = match self.stderr.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        };
        if let Some(feeding) = self.feeding.take() {
            match feeding.await {
                // A tool that had read all it needed may close its stdin early.
                Ok(Err(e)) if e.kind() != io::ErrorKind::BrokenPipe => return Err(Failure::Io(e)),
                _ => {}
            }
        }
        if status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&stderr);
        // Whole lines the tools themselves print: a file can get its own words into
        // poppler's complaints, but not at the start of a line.
        let said = |line: &str| stderr.lines().any(|l| l.starts_with(line));
        Err(if status.code() == Some(CONFINEMENT_FAILED.into()) {
            // Not the file's fault: every run would fail the same way.
            let error = format!("a processing tool could not be confined: {}", stderr.trim());
            Failure::Io(io::Error::other(error))
        } else if said("Command Line Error: Incorrect password") {
            Failure::Encrypted
        } else if said("terminate called after throwing an instance of 'std::bad_alloc'")
            || said("Out of memory")
        {
            Failure::TooComplex("it needs more memory than extraction is allowed")
        } else if status.signal() == Some(libc::SIGSEGV) {
            // What poppler's recursion limits miss ends as a stack overflow.
            Failure::TooComplex("it is nested too deeply")
        } else if matches!(status.signal(), Some(libc::SIGXCPU | libc::SIGKILL)) {
            // The CPU cap: its soft limit signals, its hard one a second later kills.
            Failure::TooComplex("it needs more time than extraction is allowed")
        } else {
            let last = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("");
            Failure::Corrupt(format!("{status}: {last}"))
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(feeding) = &self.feeding {
            feeding.abort();
        }
    }
}

/// Reads a tool's stderr to its end, keeping the last [`MAX_STDERR`] bytes: where it
/// says why it failed, after however many complaints about the file came before. It is
/// read to the end because a tool whose stderr is closed dies of `SIGPIPE` at its next
/// complaint.
async fn keep_the_end(mut stderr: tokio::process::ChildStderr) -> Vec<u8> {
    let max = MAX_STDERR as usize;
    let mut kept = Vec::new();
    let mut chunk = vec![0; 8192];
    let mut first = true;
    while let Ok(n @ 1..) = stderr.read(&mut chunk).await {
        if first {
            // The child's own word comes before the tool says anything.
            warn_once_unconfined(&chunk[..n]);
            first = false;
        }
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > 2 * max {
            kept.drain(..kept.len() - max);
        }
    }
    if kept.len() > max {
        kept.drain(..kept.len() - max);
    }
    kept
}

/// Logs, once per server, that the kernel has no Landlock (or an old one): tools then run
/// with every other layer of their confinement.
fn warn_once_unconfined(stderr: &[u8]) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    let stderr = String::from_utf8_lossy(stderr);
    let Some(missing) = stderr.lines().find_map(|line| line.strip_prefix(PARTLY_CONFINED)) else {
        return;
    };
    let missing = missing.to_owned();
    WARNED.call_once(|| {
        tracing::warn!(
            "processing tools run with {missing}: the other layers of their confinement still apply"
        );
    });
}

/// The child's whole life: `uplink __confined <memory bytes> <cpu seconds> <parent pid>
/// <tool> [arguments]`: confine, then become the tool.
pub fn run_child(args: &[String]) -> ExitCode {
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    let (Some(memory), Some(cpu_secs), Some(parent), Some(tool)) =
        (number(0), number(1), number(2), args.get(3))
    else {
        eprintln!(
            "usage: uplink {CHILD_COMMAND} <memory cap in bytes> <cpu seconds> <parent pid> <tool> [arguments]"
        );
        return ExitCode::from(2);
    };
    if !Tool::ALL.iter().any(|known| known.path() == tool) {
        eprintln!("{tool} is not a processing tool");
        return ExitCode::from(CONFINEMENT_FAILED);
    }
    let confined = match confine::confine(parent as u32, Limits { memory, cpu_secs }, &reach()) {
        Ok(confined) => confined,
        Err(e) => {
            eprintln!("cannot confine the processing tool: {e}");
            return ExitCode::from(CONFINEMENT_FAILED);
        }
    };
    match confined.landlock {
        Enforced::Fully => {}
        // Reading and executing are restricted from Landlock's first version on.
        Enforced::Partly => eprintln!("{PARTLY_CONFINED}only part of it (an older kernel)"),
        // Then nothing keeps a tool from reading the data directory: no tool runs.
        Enforced::Not => {
            eprintln!(
                "this kernel has no Landlock (Linux 5.13 or later, with `landlock` in its \
                 `lsm=` list), so processing tools cannot be kept from the server's files"
            );
            return ExitCode::from(CONFINEMENT_FAILED);
        }
    }
    // Returns only if the tool could not be started.
    let error = std::process::Command::new(tool).args(&args[4..]).exec();
    eprintln!("cannot start {tool}: {error}");
    ExitCode::from(CONFINEMENT_FAILED)
}
