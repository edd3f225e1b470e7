//! Mounting: [`MountOptions`] and [`mount_background`], which checks the mountpoint, mounts
//! (with `mount(2)` as root, else through `fusermount3`), starts the request threads and
//! returns once the mount answers.

use crate::handle::{Ended, MountHandle, Unmounter};
use crate::sys::{self, Errno};
use crate::{Error, HexzFs, Result};
use fuser::{MountOption, Session, SessionACL};
use hexz_core::Archive;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
            sys::block_signals();
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
            let _ = sys::umount(&mountpoint, true);
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
            if md.dev() != before && sys::is_fuse(&mountpoint) {
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
    let (euid, egid) = sys::effective_ids();
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
        sys::ROOT_MODE,
    );
    if opts.allow_other {
        data.push_str(",allow_other");
    }
    let cerr = |e: io::Error| Error::Mount {
        path: mountpoint.to_path_buf(),
        source: e,
    };
    if let Err(e) = sys::mount_fuse(&fsname.replace('\0', ""), mountpoint, &data) {
        if e == Errno::EPERM && euid != 0 {
            drop(dev);
            return fusermount_session(fs, mountpoint, config);
        }
        return Err(cerr(e.into()));
    }
    // The kernel queued the INIT request at mount; from_fd answers it (the handshake).
    let fd: OwnedFd = dev.into();
    match Session::from_fd(fs, fd, config.acl, config.clone()) {
        Ok(s) => Ok((s, Unmounter::Kernel)),
        Err(e) => {
            let _ = sys::umount(mountpoint, true);
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
    fn userinfo_is_not_shown() {
        assert_eq!(
            without_userinfo("https://u:p@host:8080/a@b.hxz"),
            "https://host:8080/a@b.hxz"
        );
        assert_eq!(without_userinfo("s3://bucket/k.hxz"), "s3://bucket/k.hxz");
        assert_eq!(without_userinfo("/data/x@y.hxz"), "/data/x@y.hxz");
    }
}
