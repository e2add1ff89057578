//! The confinement of a processing tool (poppler's `pdftotext`, Tesseract), applied by
//! the child to itself before it runs the tool in its place, and inherited by the tool.
//! Its memory cap keeps a hostile file from taking the machine; this keeps a parser
//! *exploit* from taking the server: the tool can read the system's programs, libraries
//! and data files it was granted ([`Reach`]), and nothing else; it can write only to the
//! pipes it was started with.
//!
//! What the kernel offers without privileges, each a layer of its own:
//! - the parent starts it with an empty environment and `/` as its working directory;
//! - `PR_SET_PDEATHSIG`: it is killed when the server dies, even by SIGKILL (kept across
//!   the tool's `execve`, which is not set-user-ID);
//! - rlimits: no core file, its memory (`RLIMIT_DATA`), CPU seconds, no file growth
//!   (`RLIMIT_FSIZE` 0), no new processes (`RLIMIT_NPROC` 0, which root ignores: seccomp
//!   below covers it), and few descriptors (`RLIMIT_NOFILE`);
//! - no capabilities, in case the server runs as root;
//! - Landlock: reading only the granted paths, executing only the granted programs,
//!   writing nothing, and no TCP;
//! - a seccomp filter: `socket`, `connect`, new processes or threads, opening files for
//!   writing, changing files by path, signals to other processes, reaching another
//!   process's memory, files in memory (`memfd_create`), `execveat`, io_uring and the
//!   calls only root could make fail with `EPERM`, for the x32 ABI too. `execve` is
//!   allowed (the child must start its tool), and Landlock bounds it to the granted
//!   programs.
//!
//! Landlock needs Linux 5.13; where the kernel lacks it, no tool runs (`sandbox.rs`):
//! without it nothing would keep a tool from reading the data directory.

use std::{collections::BTreeMap, io, path::PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use rustix::{
    process::{getppid, set_parent_process_death_signal, Pid, Signal},
    thread::{set_capabilities, CapabilitySet, CapabilitySets},
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use serde::{Deserialize, Serialize};

/// What the child's limits are.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `RLIMIT_DATA`, bytes.
    pub memory: u64,
    /// `RLIMIT_CPU`, seconds.
    pub cpu_secs: u64,
}

/// What the confined process may see of the filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Files and directories it may read (a directory: everything beneath it).
    pub read: Vec<PathBuf>,
    /// Programs (and the dynamic loader) it may execute and read.
    pub execute: Vec<PathBuf>,
}

/// The descriptors a tool may hold at once: its three pipes, and the libraries, fonts
/// and language data it opens one or a few at a time.
const MAX_FILES: u64 = 64;

/// Which optional layers took effect, as the child reports them to the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confined {
    pub landlock: Enforced,
}

/// How much of the Landlock ruleset the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforced {
    Fully,
    /// An older kernel: some rights (say, truncating files, or TCP) are not restricted.
    Partly,
    /// No Landlock at all (before Linux 5.13, or disabled).
    Not,
}

/// Confines the calling process for good. `parent` is the pid that started it: if the
/// parent died before the death signal was armed, the child is an orphan and stops.
pub fn confine(parent: u32, limits: Limits, reach: &Reach) -> io::Result<Confined> {
    // The death signal first, then the check: a parent that dies after this line kills
    // us; one that died before it has left us reparented, which `getppid` shows.
    set_parent_process_death_signal(Some(Signal::KILL))?;
    if getppid().map(Pid::as_raw_nonzero).map(|pid| pid.get() as u32) != Some(parent) {
        return Err(io::Error::other("the server that started this extraction is gone"));
    }
    set_limit(rlimit::Resource::CORE, 0)?;
    // DATA, not AS: it counts the heap and every private writable mapping (what a bomb
    // grows) but not the executable's own mapped code, so the cap means the same for a
    // 250 MB debug build as for a release one.
    set_limit(rlimit::Resource::DATA, limits.memory)?;
    // The hard limit a second above the soft one: at the soft limit the kernel sends
    // SIGXCPU, which says why; at a hard limit equal to it, SIGKILL, which does not.
    let cpu = limits.cpu_secs.max(1);
    rlimit::Resource::CPU.set(cpu, cpu + 1)?;
    set_limit(rlimit::Resource::FSIZE, 0)?;
    set_limit(rlimit::Resource::NPROC, 0)?;
    // Nothing a server running as root could do: no capabilities at all.
    let none = CapabilitySet::empty();
    set_capabilities(None, CapabilitySets { effective: none, permitted: none, inheritable: none })?;
    let landlock = restrict_filesystem_and_network(reach)?;
    set_limit(rlimit::Resource::NOFILE, MAX_FILES)?;
    apply_seccomp()?;
    Ok(Confined { landlock })
}

fn set_limit(resource: rlimit::Resource, value: u64) -> io::Result<()> {
    resource.set(value, value)
}

/// No TCP, and of the filesystem only reading what `reach` grants: a ruleset that handles
/// every right and grants those alone. Best effort across kernels, saying how much of it
/// holds. A granted path that does not exist is left out (a tool without OCR languages).
pub fn restrict_filesystem_and_network(reach: &Reach) -> io::Result<Enforced> {
    let abi = ABI::V6;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let existing = |paths: &[PathBuf]| -> Vec<PathBuf> {
        paths.iter().filter(|path| path.exists()).cloned().collect()
    };
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .and_then(|ruleset| ruleset.handle_access(AccessNet::from_all(abi)))
        .and_then(|ruleset| ruleset.scope(Scope::from_all(abi)))
        .and_then(|ruleset| ruleset.create())
        .and_then(|ruleset| ruleset.add_rules(path_beneath_rules(existing(&reach.read), read)))
        .and_then(|ruleset| {
            let run = AccessFs::Execute | AccessFs::ReadFile;
            ruleset.add_rules(path_beneath_rules(existing(&reach.execute), run))
        })
        .and_then(|ruleset| ruleset.restrict_self())
        .map_err(io::Error::other)?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Fully,
        RulesetStatus::PartiallyEnforced => Enforced::Partly,
        RulesetStatus::NotEnforced => Enforced::Not,
    })
}

/// The system calls the child must never make, each failing with `EPERM`; everything else
/// is allowed (the child needs only read, write, memory and exit, but an allow-list would
/// break with every new libc).
fn apply_seccomp() -> io::Result<()> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(io::Error::other)?;
    let program: BpfProgram = denied_calls()
        .and_then(|rules| {
            SeccompFilter::new(
                rules,
                SeccompAction::Allow,
                SeccompAction::Errno(libc::EPERM as u32),
                arch,
            )
        })
        .and_then(BpfProgram::try_from)
        .map_err(io::Error::other)?;
    seccompiler::apply_filter(&program).map_err(io::Error::other)
}

fn denied_calls() -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::BackendError> {
    let cond = |arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64| {
        SeccompRule::new(vec![SeccompCondition::new(arg, len, op, value)?])
    };
    let flag_set = |arg: u8, flag: i32| {
        cond(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(flag as u64), flag as u64)
    };
    // Opening for writing: either access mode that writes, or creating, or truncating.
    let writing = |flags_arg: u8| -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
        let access = |mode: i32| {
            let accmode = SeccompCmpOp::MaskedEq(libc::O_ACCMODE as u64);
            cond(flags_arg, SeccompCmpArgLen::Dword, accmode, mode as u64)
        };
        Ok(vec![
            access(libc::O_WRONLY)?,
            access(libc::O_RDWR)?,
            flag_set(flags_arg, libc::O_CREAT)?,
            flag_set(flags_arg, libc::O_TRUNC)?,
        ])
    };
    // Signals only to itself (a panic's abort raises SIGABRT on its own pid).
    let own = u64::from(std::process::id());
    let to_others = || -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
        Ok(vec![cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, own)?])
    };
    // A new thread shares everything with its creator; a new process (clone without
    // CLONE_THREAD) does not. The tools need neither (Tesseract is held to one thread).
    let new_process =
        cond(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64), 0)?;
    let mut denied = BTreeMap::from([
        (libc::SYS_socket, vec![]),
        (libc::SYS_socketpair, vec![]),
        (libc::SYS_connect, vec![]),
        // A file in memory has no path for Landlock to judge: executing one would get
        // round the list of programs. And `execveat` executes by descriptor.
        (libc::SYS_memfd_create, vec![]),
        (libc::SYS_execveat, vec![]),
        (libc::SYS_openat, writing(2)?),
        // Its flags are in a struct the filter cannot read.
        (libc::SYS_openat2, vec![]),
        (libc::SYS_clone, vec![new_process]),
        // clone3's flags are in a struct too.
        (libc::SYS_clone3, vec![]),
        // Another process's memory, directly or through the server's pid.
        (libc::SYS_ptrace, vec![]),
        (libc::SYS_process_vm_readv, vec![]),
        (libc::SYS_process_vm_writev, vec![]),
        (libc::SYS_kill, to_others()?),
        (libc::SYS_tkill, to_others()?),
        (libc::SYS_tgkill, to_others()?),
        (libc::SYS_rt_sigqueueinfo, to_others()?),
        (libc::SYS_rt_tgsigqueueinfo, to_others()?),
        (libc::SYS_pidfd_open, vec![]),
        (libc::SYS_pidfd_send_signal, vec![]),
        // io_uring performs opens, connects and more without passing through this filter.
        (libc::SYS_io_uring_setup, vec![]),
        (libc::SYS_io_uring_enter, vec![]),
        (libc::SYS_io_uring_register, vec![]),
        // Changing files by path needs no descriptor; Landlock refuses these too, but
        // only from the kernel version that knows each of them.
        (libc::SYS_truncate, vec![]),
        (libc::SYS_ftruncate, vec![]),
        (libc::SYS_unlinkat, vec![]),
        (libc::SYS_renameat, vec![]),
        (libc::SYS_renameat2, vec![]),
        (libc::SYS_mkdirat, vec![]),
        (libc::SYS_linkat, vec![]),
        (libc::SYS_symlinkat, vec![]),
        (libc::SYS_fchmod, vec![]),
        (libc::SYS_fchmodat, vec![]),
        (libc::SYS_fchown, vec![]),
        (libc::SYS_fchownat, vec![]),
        (libc::SYS_mknodat, vec![]),
        // Its limits stay as they were set (reading them is fine).
        (libc::SYS_setrlimit, vec![]),
        (libc::SYS_prlimit64, vec![cond(2, SeccompCmpArgLen::Qword, SeccompCmpOp::Ne, 0)?]),
        // What only a privileged process could do, in case the server runs as root
        // (its capabilities are dropped too).
        (libc::SYS_mount, vec![]),
        (libc::SYS_umount2, vec![]),
        (libc::SYS_pivot_root, vec![]),
        (libc::SYS_chroot, vec![]),
        (libc::SYS_unshare, vec![]),
        (libc::SYS_setns, vec![]),
        (libc::SYS_bpf, vec![]),
        (libc::SYS_perf_event_open, vec![]),
        (libc::SYS_keyctl, vec![]),
        (libc::SYS_add_key, vec![]),
        (libc::SYS_init_module, vec![]),
        (libc::SYS_finit_module, vec![]),
        (libc::SYS_kexec_load, vec![]),
    ]);
    #[cfg(target_arch = "x86_64")]
    {
        denied.insert(libc::SYS_open, writing(1)?);
        denied.insert(libc::SYS_creat, vec![]);
        denied.insert(libc::SYS_fork, vec![]);
        denied.insert(libc::SYS_vfork, vec![]);
        for call in [
            libc::SYS_unlink,
            libc::SYS_rename,
            libc::SYS_mkdir,
            libc::SYS_rmdir,
            libc::SYS_link,
            libc::SYS_symlink,
            libc::SYS_chmod,
            libc::SYS_chown,
            libc::SYS_lchown,
            libc::SYS_mknod,
        ] {
            denied.insert(call, vec![]);
        }
        denied = with_x32(denied);
    }
    Ok(denied)
}

/// The same rules for the x32 ABI, where the kernel has it: x86-64 system call numbers
/// with bit 30 set, which a filter for x86-64 sees as different calls. A few calls have
/// x32 numbers of their own (512 onwards in the kernel's `syscall_64.tbl`).
#[cfg(target_arch = "x86_64")]
fn with_x32(denied: BTreeMap<i64, Vec<SeccompRule>>) -> BTreeMap<i64, Vec<SeccompRule>> {
    const X32: i64 = 0x4000_0000;
    let own_numbers = [
        (libc::SYS_execve, 520),
        (libc::SYS_ptrace, 521),
        (libc::SYS_rt_sigqueueinfo, 524),
        (libc::SYS_kexec_load, 528),
        (libc::SYS_rt_tgsigqueueinfo, 536),
        (libc::SYS_process_vm_readv, 539),
        (libc::SYS_process_vm_writev, 540),
        (libc::SYS_execveat, 545),
    ];
    let mut all = denied.clone();
    for (call, rules) in denied {
        let x32 = own_numbers.iter().find(|(c, _)| *c == call).map_or(call, |(_, n)| *n);
        all.insert(x32 | X32, rules);
    }
    all
}
