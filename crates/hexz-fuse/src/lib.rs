//! Read-only FUSE mounts of `.hxz` archives.
//!
//! [`mount_background`] mounts an open [`Archive`] on an empty directory and returns once the
//! mount answers; the kernel's requests are served by a pool of threads until the returned
//! [`MountHandle`] is unmounted or dropped, or until the mount is unmounted from outside
//! ([`unmount`], `umount`). Entries appear as files, directories and symlinks with their mode
//! and mtime; raw streams (`disk`, `memory`) appear as regular files.
//!
//! Reads go through [`Archive::read_entry_at`], so the engine's block cache, read-ahead and
//! integrity checks apply: a block that fails its checks is an `EIO` for that read, never
//! wrong bytes. Files are opened with `FOPEN_KEEP_CACHE` and attributes and names are cached
//! for a day, since a mounted archive never changes.
//!
//! Names: an archive path component may be up to 4,096 bytes, the kernel takes 255
//! ([`NAME_MAX`]). A longer component is listed, and looked up, under [`shown_name`]: its first
//! 222 bytes or fewer (cut at a UTF-8 boundary), `~`, and 32 hex digits of the BLAKE3 hash of the
//! whole component; 255 bytes at most, the same in every mount, distinct for distinct names.
//! Should that equal a real name in the same directory, the real name wins and the long entry
//! is left out ([`HexzFs::hidden`]; a warning with `log_errors`). A symlink target of 4,096
//! bytes (no room for the kernel's NUL) lists and stats, and `readlink` answers `ENAMETOOLONG`.
//! Nothing else an archive may hold (UTF-8 names without NUL, `/`, `.` or `..`) needs care.
//!
//! The archive file while mounted: replacing it by `rename` (as hexz's writers do) leaves the
//! mount reading the file it opened, with the old contents. Writing, truncating or touching
//! it in place changes its length or mtime, and from then on every read answers `EIO` (unmount
//! and mount again): a read never mixes in new bytes. Reads go through `pread`, never through a
//! memory map, so a truncated file cannot raise `SIGBUS`.
//!
//! Mounting calls `mount(2)` directly (as root, no libfuse or `fusermount` needed); without
//! the privilege it falls back to `fusermount3`, as libfuse does. Linux only: elsewhere the
//! crate is empty.
#![cfg(target_os = "linux")]

mod error;
mod fs;
pub mod mountinfo;

pub use error::{Error, Result};
pub use fs::{shown_name, HexzFs, NAME_MAX};

use fuser::{MountOption, Session, SessionACL, SessionUnmounter};
use hexz_core::Archive;
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `statfs.f_type` of a FUSE file system.
const FUSE_SUPER_MAGIC: i64 = 0x6573_5546;
/// How long an unmount retries while the mount is busy before detaching it lazily.
const BUSY_RETRY: Duration = Duration::from_millis(300);
/// How long an unmount waits for the request threads to finish.
const JOIN_WAIT: Duration = Duration::from_secs(5);

/// How to mount.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Owner of every file and directory (default: the user who mounts).
    pub uid: Option<u32>,
    /// Group of every file and directory (default: the group of the user who mounts).
    pub gid: Option<u32>,
    /// Let users other than the one who mounts in (the permission bits still apply). Needs
    /// root, or `user_allow_other` in /etc/fuse.conf.
    pub allow_other: bool,
    /// Threads serving the kernel's requests (each reads from its own cloned /dev/fuse).
    pub threads: usize,
    /// The kernel's read-ahead for files of this mount, in bytes.
    pub kernel_readahead: u32,
    /// The mount's source in /proc/mounts (default `hexz:` and the archive's path or URL).
    pub fsname: Option<String>,
    /// Print one line to stderr for each read answered with an error.
    pub log_errors: bool,
    /// How long to wait for the new mount to answer before giving up.
    pub ready_timeout: Duration,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            uid: None,
            gid: None,
            allow_other: false,
            threads: 8,
            kernel_readahead: 4 << 20,
            fsname: None,
            log_errors: false,
            ready_timeout: Duration::from_secs(10),
        }
    }
}

/// How the session ended: `None` while it runs.
#[derive(Default)]
struct Ended {
    state: Mutex<Option<std::result::Result<(), String>>>,
    cv: Condvar,
}

impl Ended {
    fn set(&self, r: std::result::Result<(), String>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = Some(r);
        self.cv.notify_all();
    }

    fn wait(&self, timeout: Option<Duration>) -> bool {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match timeout {
            None => {
                let s = self
                    .cv
                    .wait_while(s, |s| s.is_none())
                    .unwrap_or_else(|e| e.into_inner());
                s.is_some()
            }
            Some(t) => {
                let (s, _) = self
                    .cv
                    .wait_timeout_while(s, t, |s| s.is_none())
                    .unwrap_or_else(|e| e.into_inner());
                s.is_some()
            }
        }
    }

    fn error(&self) -> Option<String> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.as_ref().and_then(|r| r.as_ref().err().cloned())
    }
}

enum Unmounter {
    /// Mounted with mount(2): unmount with umount2(2).
    Kernel,
    /// Mounted by fusermount3: unmount through fuser (umount2, else `fusermount3 -u -z`).
    Fuser(SessionUnmounter),
}

/// A mounted archive. [`MountHandle::unmount`] or dropping it unmounts (lazily, if files are
/// still open under it) and joins the request threads.
pub struct MountHandle {
    mountpoint: PathBuf,
    dev: u64,
    ended: Arc<Ended>,
    thread: Option<JoinHandle<()>>,
    unmounter: Option<Unmounter>,
    errors: Arc<AtomicU64>,
}

impl std::fmt::Debug for MountHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountHandle")
            .field("mountpoint", &self.mountpoint)
            .field("mounted", &self.is_mounted())
            .finish()
    }
}

/// Mounts `archive` read-only on the empty directory `mountpoint` and returns once the mount
/// answers. Requests are served by `opts.threads` background threads until the handle is
/// unmounted or dropped, or the mount is unmounted from outside (then
/// [`MountHandle::wait`] returns).
///
/// Fails with a clear [`Error`] when the mountpoint is missing, not a directory or not empty,
/// when /dev/fuse is unavailable, when the kernel refuses the mount, or when the archive's
/// entries table cannot be read.
pub fn mount_background(
    archive: impl Into<Arc<Archive>>,
    mountpoint: impl AsRef<Path>,
    opts: &MountOptions,
) -> Result<MountHandle> {
    let archive: Arc<Archive> = archive.into();
    let mountpoint = check_mountpoint(mountpoint.as_ref())?;
    let fsname = opts
        .fsname
        .clone()
        .unwrap_or_else(|| format!("hexz:{}", without_userinfo(archive.name())));
    let fs = HexzFs::new(archive, opts)?;
    let errors = fs.error_counter();
    let before = std::fs::metadata(&mountpoint)
        .map_err(|e| Error::io(format!("cannot stat {}", mountpoint.display()), e))?
        .dev();

    let mut config = fuser::Config::default();
    config.n_threads = Some(opts.threads.max(1));
    config.clone_fd = true;
    config.acl = if opts.allow_other {
        SessionACL::All
    } else {
        SessionACL::Owner
    };
    config.mount_options = vec![
        MountOption::RO,
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::DefaultPermissions,
        MountOption::FSName(fsname.clone()),
        MountOption::Subtype("hexz".into()),
    ];
    let (session, unmounter) = mount_session(fs, &mountpoint, &fsname, opts, &config)?;

    let ended = Arc::new(Ended::default());
    let ended2 = ended.clone();
    let spawned = std::thread::Builder::new()
        .name("hexz-fuse".into())
        .spawn(move || {
            block_signals();
            let r = session.run().map_err(|e| e.to_string());
            ended2.set(r);
        });
    let mut handle = MountHandle {
        mountpoint: mountpoint.clone(),
        dev: 0,
        ended,
        thread: None,
        unmounter: Some(unmounter),
        errors,
    };
    match spawned {
        Ok(t) => handle.thread = Some(t),
        Err(e) => {
            // The session was dropped with the closure: the connection is gone.
            let _ = umount(&mountpoint, libc::MNT_DETACH);
            handle.unmounter = None;
            return Err(Error::io("cannot start the FUSE request threads", e));
        }
    }

    // Ready once the mountpoint is a FUSE file system that answers a stat.
    let deadline = Instant::now() + opts.ready_timeout;
    loop {
        if handle.ended.wait(Some(Duration::ZERO)) {
            let why = handle.ended.error().unwrap_or_else(|| "no error".into());
            let _ = handle.shutdown();
            return Err(Error::Mount {
                path: mountpoint,
                source: io::Error::other(format!(
                    "the FUSE session ended before the mount answered: {why}"
                )),
            });
        }
        if let Ok(md) = std::fs::metadata(&mountpoint) {
            if md.dev() != before && statfs_type(&mountpoint).ok() == Some(FUSE_SUPER_MAGIC) {
                handle.dev = md.dev();
                break;
            }
        }
        if Instant::now() >= deadline {
            let _ = handle.shutdown();
            return Err(Error::NotReady {
                path: mountpoint,
                secs: opts.ready_timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    set_bdi_readahead(handle.dev, opts.kernel_readahead);
    Ok(handle)
}

impl MountHandle {
    /// Where the archive is mounted (absolute, symlinks resolved).
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Whether the mount still serves requests (false once unmounted from outside).
    pub fn is_mounted(&self) -> bool {
        !self.ended.wait(Some(Duration::ZERO))
    }

    /// Blocks until the mount is unmounted (from outside: `hexz unmount`, `umount`).
    pub fn wait(&self) {
        self.ended.wait(None);
    }

    /// Blocks until the mount is unmounted or `timeout` has passed; true if it was unmounted.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.ended.wait(Some(timeout))
    }

    /// Reads answered with an error (`EIO`) so far.
    pub fn read_errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Unmounts and joins the request threads. A busy mount (a file open, a working directory
    /// under it) is detached lazily: it disappears from the tree at once and its threads end
    /// when the last file is closed.
    pub fn unmount(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(unmounter) = self.unmounter.take() else {
            return Ok(());
        };
        let mut result = Ok(());
        if self.is_mounted() {
            result = match unmounter {
                Unmounter::Kernel => {
                    // Only our own mount: after an outside unmount, something else may be there.
                    let ours = match std::fs::metadata(&self.mountpoint) {
                        Ok(md) => md.dev() == self.dev || self.dev == 0,
                        Err(_) => true,
                    };
                    if ours {
                        unmount_or_detach(&self.mountpoint)
                    } else {
                        Ok(true)
                    }
                }
                // fusermount detaches lazily when busy: no telling, so wait as for a full one.
                Unmounter::Fuser(mut u) => {
                    u.unmount().map(|()| true).map_err(|source| Error::Unmount {
                        path: self.mountpoint.clone(),
                        source,
                    })
                }
            }
            .map(|complete| {
                // A complete unmount ends the session at once; a detached one only when its
                // last file is closed, so do not wait for that.
                if complete {
                    self.ended.wait(Some(JOIN_WAIT));
                }
            });
        }
        if self.ended.wait(Some(Duration::ZERO)) {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
        // Otherwise the mount was detached while busy: its threads end with its last file.
        result
    }
}

impl Drop for MountHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Unmounts the hexz mount at `mountpoint` (as root with umount2(2), else with
/// `fusermount3 -u`). Fails with [`Error::NotMounted`] or [`Error::NotHexz`] when there is no
/// hexz mount there, and with [`Error::Busy`] when files under it are in use. The process that
/// serves the mount (`hexz mount`) exits once it is unmounted.
pub fn unmount(mountpoint: impl AsRef<Path>) -> Result<()> {
    unmount_path(mountpoint.as_ref(), false)
}

/// Like [`unmount`], but a busy mount is detached at once (`umount -l`): it leaves the tree
/// now and goes away when its last file is closed.
pub fn unmount_lazy(mountpoint: impl AsRef<Path>) -> Result<()> {
    unmount_path(mountpoint.as_ref(), true)
}

/// The hexz mount at `path`, if there is one.
pub fn find_mount(path: impl AsRef<Path>) -> Result<Option<mountinfo::MountEntry>> {
    let abs = absolute(path.as_ref())?;
    let mounts =
        mountinfo::mounts().map_err(|e| Error::io("cannot read /proc/self/mountinfo", e))?;
    Ok(mounts
        .into_iter()
        .rev()
        .find(|m| m.mount_point == abs && m.is_hexz()))
}

fn unmount_path(path: &Path, lazy: bool) -> Result<()> {
    let abs = absolute(path)?;
    let mounts =
        mountinfo::mounts().map_err(|e| Error::io("cannot read /proc/self/mountinfo", e))?;
    let Some(m) = mounts.iter().rev().find(|m| m.mount_point == abs) else {
        return Err(match abs.symlink_metadata() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Error::Unmount {
                path: abs,
                source: io::Error::new(io::ErrorKind::NotFound, "no such file or directory"),
            },
            _ => Error::NotMounted(abs),
        });
    };
    if !m.is_hexz() {
        return Err(Error::NotHexz {
            path: abs,
            fstype: m.fstype.clone(),
            what: m.source.clone(),
        });
    }
    let flags = if lazy { libc::MNT_DETACH } else { 0 };
    match umount(&abs, flags) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Err(Error::Busy(abs)),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => fusermount_unmount(&abs, lazy),
        Err(source) => Err(Error::Unmount { path: abs, source }),
    }
}

/// Unmounts without privileges through the setuid helper, as libfuse does.
fn fusermount_unmount(path: &Path, lazy: bool) -> Result<()> {
    for bin in ["fusermount3", "fusermount"] {
        let mut cmd = std::process::Command::new(bin);
        cmd.arg("-u");
        if lazy {
            cmd.arg("-z");
        }
        match cmd.arg("--").arg(path).output() {
            Ok(out) if out.status.success() => return Ok(()),
            Ok(out) => {
                let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Err(Error::Unmount {
                    path: path.to_path_buf(),
                    source: io::Error::other(format!("{bin}: {msg}")),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("cannot run {bin}"), e)),
        }
    }
    Err(Error::Unmount {
        path: path.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::PermissionDenied,
            "permission denied: unmount as root, or install fusermount3 (package fuse3)",
        ),
    })
}

/// `path` made absolute with its parent's symlinks resolved, without touching `path` itself
/// (a dead FUSE mount fails every stat).
fn absolute(path: &Path) -> Result<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Ok(p);
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io("cannot get the working directory", e))?
            .join(path)
    };
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => Ok(parent.canonicalize().unwrap_or(parent.into()).join(name)),
        _ => Ok(abs),
    }
}

/// A URL without its `user:password@`, so that no secret shows in /proc/mounts.
fn without_userinfo(name: &str) -> String {
    if let Some((scheme, rest)) = name.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    name.to_string()
}

fn check_mountpoint(p: &Path) -> Result<PathBuf> {
    let md = match std::fs::metadata(p) {
        Ok(md) => md,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::MountpointMissing(p.to_path_buf()))
        }
        Err(e) => return Err(Error::io(format!("cannot stat {}", p.display()), e)),
    };
    if !md.is_dir() {
        return Err(Error::NotADirectory(p.to_path_buf()));
    }
    let mut dir =
        std::fs::read_dir(p).map_err(|e| Error::io(format!("cannot list {}", p.display()), e))?;
    if dir.next().is_some() {
        return Err(Error::NotEmpty(p.to_path_buf()));
    }
    p.canonicalize()
        .map_err(|e| Error::io(format!("cannot resolve {}", p.display()), e))
}

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn umount(path: &Path, flags: libc::c_int) -> io::Result<()> {
    let c = cstring(path)?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::umount2(c.as_ptr(), flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Unmounts our own mount: retries a moment while busy, then detaches it lazily. True when
/// it is fully unmounted, false when detached.
fn unmount_or_detach(path: &Path) -> Result<bool> {
    let deadline = Instant::now() + BUSY_RETRY;
    loop {
        match umount(path, 0) {
            Ok(()) => return Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                if Instant::now() >= deadline {
                    return umount(path, libc::MNT_DETACH)
                        .map(|()| false)
                        .map_err(|source| Error::Unmount {
                            path: path.to_path_buf(),
                            source,
                        });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Already unmounted (from outside): nothing left to do.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => {
                return Ok(true)
            }
            Err(source) => {
                return Err(Error::Unmount {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

fn statfs_type(path: &Path) -> io::Result<i64> {
    let c = cstring(path)?;
    // SAFETY: `st` is plain data written by statfs; `c` is NUL-terminated and outlives the call.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        if libc::statfs(c.as_ptr(), &mut st) != 0 {
            return Err(io::Error::last_os_error());
        }
        #[allow(clippy::unnecessary_cast)]
        Ok(st.f_type as i64)
    }
}

/// Blocks the asynchronous signals in this thread (and the threads it starts), so that
/// SIGINT and SIGTERM reach the application's own threads, never a request thread.
fn block_signals() {
    // SAFETY: the set is initialised by sigfillset before use; pthread_sigmask changes only
    // this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for sig in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGTRAP,
            libc::SIGABRT,
        ] {
            libc::sigdelset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Raises the kernel's read-ahead for this mount (best effort: needs root and sysfs).
fn set_bdi_readahead(dev: u64, bytes: u32) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let kb = (bytes / 1024).max(4);
    let _ = std::fs::write(
        format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb"),
        kb.to_string(),
    );
}

/// Mounts with mount(2) and wraps the /dev/fuse descriptor in a session; without the
/// privilege, lets fuser mount through fusermount3.
fn mount_session(
    fs: HexzFs,
    mountpoint: &Path,
    fsname: &str,
    opts: &MountOptions,
    config: &fuser::Config,
) -> Result<(Session<HexzFs>, Unmounter)> {
    // SAFETY: geteuid/getegid cannot fail and have no preconditions.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let dev = match OpenOptions::new().read(true).write(true).open("/dev/fuse") {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && euid != 0 => {
            return fusermount_session(fs, mountpoint, config)
        }
        Err(e) => return Err(Error::NoFuseDevice(e)),
    };
    let mut data = format!(
        "fd={},rootmode={:o},user_id={euid},group_id={egid},default_permissions",
        dev.as_raw_fd(),
        libc::S_IFDIR | 0o755,
    );
    if opts.allow_other {
        data.push_str(",allow_other");
    }
    let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV;
    let cerr = |e: io::Error| Error::Mount {
        path: mountpoint.to_path_buf(),
        source: e,
    };
    let source = CString::new(fsname.replace('\0', "")).map_err(|e| cerr(io::Error::other(e)))?;
    let target = cstring(mountpoint).map_err(cerr)?;
    let fstype = c"fuse.hexz";
    let cdata = CString::new(data).map_err(|e| cerr(io::Error::other(e)))?;
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            cdata.as_ptr().cast(),
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EPERM) && euid != 0 {
            drop(dev);
            return fusermount_session(fs, mountpoint, config);
        }
        return Err(cerr(e));
    }
    // The kernel queued the INIT request at mount; from_fd answers it (the handshake).
    let fd: OwnedFd = dev.into();
    match Session::from_fd(fs, fd, config.acl, config.clone()) {
        Ok(s) => Ok((s, Unmounter::Kernel)),
        Err(e) => {
            let _ = umount(mountpoint, libc::MNT_DETACH);
            Err(cerr(e))
        }
    }
}

fn fusermount_session(
    fs: HexzFs,
    mountpoint: &Path,
    config: &fuser::Config,
) -> Result<(Session<HexzFs>, Unmounter)> {
    // Cloning the descriptor opens /dev/fuse again, which an unprivileged user may not be
    // allowed to; the threads share the one fusermount3 handed over instead.
    let mut config = config.clone();
    config.clone_fd = false;
    let mut s = Session::new(fs, mountpoint, &config).map_err(|e| Error::Mount {
        path: mountpoint.to_path_buf(),
        source: io::Error::new(
            e.kind(),
            format!("{e} (without root, mounting needs fusermount3 from the fuse3 package)"),
        ),
    })?;
    let u = s.unmount_callable();
    Ok((s, Unmounter::Fuser(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_threads() {
        // The Python binding keeps a handle in an object any thread may drop.
        fn send_sync<T: Send + Sync>() {}
        send_sync::<MountHandle>();
        send_sync::<MountOptions>();
        send_sync::<Error>();
    }

    #[test]
    fn userinfo_is_not_shown() {
        assert_eq!(
            without_userinfo("https://u:p@host:8080/a@b.hxz"),
            "https://host:8080/a@b.hxz"
        );
        assert_eq!(without_userinfo("s3://bucket/k.hxz"), "s3://bucket/k.hxz");
        assert_eq!(without_userinfo("/data/x@y.hxz"), "/data/x@y.hxz");
    }
}
