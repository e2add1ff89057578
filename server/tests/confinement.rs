//! A processing tool's confinement, for real: this test starts a child the way the
//! server does (`Sandbox::command`: empty environment, `/` as working directory) but
//! running this test's own executable, which confines itself with the server's
//! `confine` and reach, then tries everything a parser exploit would, reporting what it
//! got. Then a confined poppler tool, its parent SIGKILLed, must die with it.
//!
//! `harness = false`: the same executable is the test and, started with a confined
//! child's arguments, the child.

use std::{
    fs::File,
    io::{BufRead, BufReader, Write},
    process::{Command, ExitCode, Stdio},
};

use serde_json::{json, Value};
use uplink::processing::{
    confine::{confine, restrict_filesystem_and_network, Limits},
    reach, Sandbox, Tool, CHILD_COMMAND,
};

const MEMORY: u64 = 256 << 20;
const CPU_SECS: u64 = 7;

/// The argument that makes this executable the Landlock-only probe.
const LANDLOCK_PROBE: &str = "__landlock-probe";

/// The tools this executable plays when started as a confined child.
const ESCAPES: &str = "escapes";

/// A file every tool may read.
const GRANTED: &str = "/etc/ld.so.cache";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(CHILD_COMMAND) if args.get(5).map(String::as_str) == Some(ESCAPES) => {
            return probe(&args[2..])
        }
        Some(CHILD_COMMAND) => return confined_tool(&args[2..]),
        Some(LANDLOCK_PROBE) => return landlock_probe(),
        _ => {}
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(every_escape_is_refused_inside_the_child());
    landlock_alone_refuses_every_file_but_the_granted_and_tcp();
    the_child_dies_with_its_parent();
    println!("confinement: 3 checks passed");
    ExitCode::SUCCESS
}

/// `errno` of an I/O result, or 0 for success.
fn errno<T>(result: std::io::Result<T>) -> i32 {
    match result {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// The arguments after `__confined`: memory, CPU seconds, parent pid.
fn limits(args: &[String]) -> (u32, Limits) {
    let number = |i: usize| args[i].parse::<u64>().unwrap();
    (number(2) as u32, Limits { memory: number(0), cpu_secs: number(1) })
}

/// A child as the server's own: confined, it says so, then becomes its tool.
fn confined_tool(args: &[String]) -> ExitCode {
    let (parent, limits) = limits(args);
    confine(parent, limits, &reach()).expect("confinement applies");
    println!("confined");
    let error = std::os::unix::process::CommandExt::exec(Command::new(&args[3]).args(&args[4..]));
    panic!("the tool did not start: {error}");
}

/// The child: confine, then try each escape and report the errno each got.
fn probe(args: &[String]) -> ExitCode {
    let (parent_pid, limits) = limits(args);
    let confined = confine(parent_pid, limits, &reach()).expect("confinement applies");
    let limit =
        |resource: rlimit::Resource| resource.get().map(|(soft, _)| soft).unwrap_or(u64::MAX);
    // A file of the test's, which the child must not be able to change in any way.
    let victim = std::env::var("UPLINK_PROBE_VICTIM").expect("the victim's path");
    let parent = rustix::process::Pid::from_raw(parent_pid as i32).unwrap();
    let capabilities = rustix::thread::capabilities(None).expect("capabilities read");
    let report = json!({
        "landlock": confined.landlock,
        "environment": std::env::vars_os().count(),
        "cwd": std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default(),
        "read_file": errno(std::fs::read("/etc/passwd")),
        "read_the_victim": errno(std::fs::read(&victim)),
        "read_granted": errno(std::fs::read(GRANTED)),
        "list_dir": errno(std::fs::read_dir("/")),
        "make_dir": errno(std::fs::create_dir(format!("/tmp/uplink-escape-{}", std::process::id()))),
        "make_symlink": errno(std::os::unix::fs::symlink(
            "/etc/passwd",
            format!("/tmp/uplink-escape-link-{}", std::process::id())
        )),
        "create_file": errno(File::create("/tmp/uplink-escape")),
        "open_for_append": errno(std::fs::OpenOptions::new().append(true).open("/etc/passwd")),
        "unlink": errno(std::fs::remove_file(&victim)),
        "rename": errno(std::fs::rename(&victim, format!("{victim}.moved"))),
        "signal_the_server": errno(rustix::process::test_kill_process(parent).map_err(std::io::Error::from)),
        "start_a_thread": errno(std::thread::Builder::new().spawn(|| ())),
        "capabilities": capabilities.effective.bits() | capabilities.permitted.bits(),
        "tcp_connect": errno(std::net::TcpStream::connect("127.0.0.1:9")),
        "file_in_memory": errno(
            rustix::fs::memfd_create("escape", rustix::fs::MemfdFlags::empty())
                .map_err(std::io::Error::from)
        ),
        "udp_socket": errno(std::net::UdpSocket::bind("127.0.0.1:0")),
        // Refused by seccomp: no new process.
        "run_program": errno(Command::new("/bin/true").status()),
        "rlimit_cpu": limit(rlimit::Resource::CPU),
        "rlimit_data": limit(rlimit::Resource::DATA),
        "rlimit_fsize": limit(rlimit::Resource::FSIZE),
        "rlimit_nofile": limit(rlimit::Resource::NOFILE),
        "rlimit_nproc": limit(rlimit::Resource::NPROC),
        "rlimit_core": limit(rlimit::Resource::CORE),
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}").unwrap();
    out.flush().unwrap();
    // Last, since it would end the probe: becoming a program that is not a tool.
    let error = std::os::unix::process::CommandExt::exec(&mut Command::new("/usr/bin/id"));
    writeln!(out, "{}", json!({ "become_another_program": error.raw_os_error() })).unwrap();
    ExitCode::SUCCESS
}

/// A child with the Landlock layer alone: the whole confinement refuses most things
/// before Landlock is asked, so this shows it holds by itself.
fn landlock_probe() -> ExitCode {
    let enforced = restrict_filesystem_and_network(&reach()).expect("Landlock applies");
    let report = json!({
        "landlock": enforced,
        "read_file": errno(std::fs::read("/etc/passwd")),
        "read_granted": errno(std::fs::read(GRANTED)),
        "list_dir": errno(std::fs::read_dir("/")),
        "create_file": errno(File::create(format!("/tmp/uplink-escape-{}", std::process::id()))),
        "tcp_connect": errno(std::net::TcpStream::connect("127.0.0.1:9")),
    });
    println!("{report}");
    ExitCode::SUCCESS
}

fn landlock_alone_refuses_every_file_but_the_granted_and_tcp() {
    let output =
        Command::new(std::env::current_exe().unwrap()).arg(LANDLOCK_PROBE).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let eacces = libc::EACCES as i64;
    let expected = json!({
        "landlock": "fully",
        "read_file": eacces,
        "read_granted": 0,
        "list_dir": eacces,
        "create_file": eacces,
        "tcp_connect": eacces,
    });
    assert_eq!(report, expected, "what Landlock alone refuses");
    println!("Landlock alone: {report}");
}

async fn every_escape_is_refused_inside_the_child() {
    let sandbox =
        Sandbox { program: std::env::current_exe().unwrap(), memory: MEMORY, cpu_secs: CPU_SECS };
    let victim = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(victim.path(), b"intact").unwrap();
    let mut command = sandbox.command(ESCAPES, &[]);
    let output = command.env("UPLINK_PROBE_VICTIM", victim.path()).output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the probe failed: {stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let report: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let (eperm, eacces) = (libc::EPERM as i64, libc::EACCES as i64);
    let expected = json!({
        "landlock": "fully",
        // The server's OMP_THREAD_LIMIT, then the test's own `env` (the victim's path).
        "environment": 2,
        "cwd": "/",
        // Landlock: nothing but the system files granted to every tool.
        "read_file": eacces,
        "read_the_victim": eacces,
        "read_granted": 0,
        "list_dir": eacces,
        // seccomp, checked before Landlock would be: changing files by path, signals to
        // others, threads; and no capabilities.
        "make_dir": eperm,
        "make_symlink": eperm,
        "unlink": eperm,
        "rename": eperm,
        "signal_the_server": eperm,
        "start_a_thread": eperm,
        "capabilities": 0,
        // seccomp, checked before Landlock would be: opening for writing.
        "create_file": eperm,
        "open_for_append": eperm,
        // seccomp: no sockets, no new programs.
        "tcp_connect": eperm,
        "udp_socket": eperm,
        "run_program": eperm,
        // seccomp: no file without a path to execute.
        "file_in_memory": eperm,
        "rlimit_cpu": CPU_SECS,
        "rlimit_data": MEMORY,
        "rlimit_fsize": 0,
        "rlimit_nofile": 64,
        "rlimit_nproc": 0,
        "rlimit_core": 0,
    });
    assert_eq!(report, expected, "what the confined child could do");
    // Landlock: it may become one of the tools, and no other program.
    let became: Value = serde_json::from_str(lines.next().unwrap_or("{}")).unwrap();
    assert_eq!(became, json!({ "become_another_program": eacces }), "{stdout}");
    assert_eq!(std::fs::read(victim.path()).unwrap(), b"intact");
    println!("confined child: {report}");
}

fn the_child_dies_with_its_parent() {
    use rustix::{
        event::{poll, PollFd, PollFlags, Timespec},
        process::{pidfd_open, Pid, PidfdFlags},
    };
    // A parent of a confined poppler tool: a shell that starts it on the shell's own
    // stdin (a pipe this test holds open and never writes, so the tool waits on it for
    // good), prints the child's pid, and waits.
    let this = std::env::current_exe().unwrap();
    let tool = Tool::PdfToText.path();
    let script = format!(
        "exec 3<&0; '{}' {CHILD_COMMAND} {MEMORY} {CPU_SECS} $$ {tool} - - <&3 & echo $!; wait",
        this.display()
    );
    let mut parent = Command::new("/bin/sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Two lines, in either order (the shell and the child share the pipe): the child's
    // pid, and its word that it has confined itself (its death signal armed) before it
    // became the tool.
    let mut lines = BufReader::new(parent.stdout.take().unwrap()).lines();
    let two: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();
    let confined = two.iter().find(|line| line.contains("confined"));
    assert!(confined.is_some(), "{two:?}");
    let pid: i32 = two.iter().find_map(|line| line.trim().parse().ok()).expect("the pid");
    let child = pidfd_open(Pid::from_raw(pid).unwrap(), PidfdFlags::empty()).unwrap();

    // Held until the end: `wait` would close it, and the child, reading its end, would
    // see the end of its input and exit on its own.
    let stdin = parent.stdin.take();
    parent.kill().unwrap();
    parent.wait().unwrap();
    // A pidfd becomes readable when its process has exited; the bound only keeps a child
    // that survives from hanging the test.
    let mut watch = [PollFd::new(&child, PollFlags::IN)];
    let bound = Timespec { tv_sec: 10, tv_nsec: 0 };
    let exited = poll(&mut watch, Some(&bound)).unwrap();
    assert_eq!(exited, 1, "the confined tool outlived its parent");
    drop(stdin);
    println!("the confined tool died with its parent");
}
