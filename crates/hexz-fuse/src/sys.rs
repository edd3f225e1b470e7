//! Every raw system call of the crate, through `nix`'s safe wrappers: mount(2) and umount2(2),
//! statfs(2), the thread's signal mask, and the effective ids. Errors come back as [`Errno`],
//! which callers match on (`EBUSY`, `EPERM`, ...) before turning it into an [`crate::Error`].

use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::stat::SFlag;
use nix::sys::statfs::{statfs, FUSE_SUPER_MAGIC};
use std::path::Path;

pub(crate) use nix::errno::Errno;

/// The `O_TRUNC` bit of an open request's flags.
pub(crate) const O_TRUNC: i32 = OFlag::O_TRUNC.bits();
/// The mode of the mount's root as FUSE's `rootmode=` option takes it: a directory, 0755.
pub(crate) const ROOT_MODE: u32 = SFlag::S_IFDIR.bits() | 0o755;

/// Mounts a `fuse.hexz` file system on `target`, read-only, without setuid or devices.
/// `data` holds the FUSE options (`fd=N,rootmode=...`); `source` is what /proc/mounts shows.
pub(crate) fn mount_fuse(source: &str, target: &Path, data: &str) -> Result<(), Errno> {
    nix::mount::mount(
        Some(source),
        target,
        Some("fuse.hexz"),
        MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(data),
    )
}

/// Unmounts `path` with umount2(2); `lazy` detaches a busy mount (`MNT_DETACH`, `umount -l`)
/// instead of failing with `EBUSY`.
pub(crate) fn umount(path: &Path, lazy: bool) -> Result<(), Errno> {
    let flags = if lazy {
        MntFlags::MNT_DETACH
    } else {
        MntFlags::empty()
    };
    nix::mount::umount2(path, flags)
}

/// Whether the file system at `path` is a FUSE one (`statfs.f_type`); false if it cannot be
/// stat'ed.
pub(crate) fn is_fuse(path: &Path) -> bool {
    statfs(path).is_ok_and(|st| st.filesystem_type() == FUSE_SUPER_MAGIC)
}

/// Blocks the asynchronous signals in this thread (and the threads it starts), so that
/// SIGINT and SIGTERM reach the application's own threads, never a request thread.
pub(crate) fn block_signals() {
    let mut set = SigSet::all();
    for sig in [
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGFPE,
        Signal::SIGILL,
        Signal::SIGTRAP,
        Signal::SIGABRT,
    ] {
        set.remove(sig);
    }
    // pthread_sigmask fails only for an invalid `how`: best effort, as before.
    let _ = set.thread_block();
}

/// The effective uid and gid of this process.
pub(crate) fn effective_ids() -> (u32, u32) {
    (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    )
}
