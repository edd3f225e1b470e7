//! Unmounting: [`unmount`] and [`unmount_lazy`] for a mount served elsewhere (`hexz unmount`),
//! and [`unmount_or_detach`] for a handle's own mount, which waits out a short busy spell.

use crate::sys::{self, Errno};
use crate::{mountinfo, Error, Result};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long an unmount retries while the mount is busy before detaching it lazily.
const BUSY_RETRY: Duration = Duration::from_millis(300);

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
    match sys::umount(&abs, lazy) {
        Ok(()) => Ok(()),
        Err(Errno::EBUSY) => Err(Error::Busy(abs)),
        Err(Errno::EPERM) => fusermount_unmount(&abs, lazy),
        Err(e) => Err(Error::Unmount {
            path: abs,
            source: e.into(),
        }),
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

/// Unmounts our own mount: retries a moment while busy, then detaches it lazily. True when
/// it is fully unmounted, false when detached.
pub(crate) fn unmount_or_detach(path: &Path) -> Result<bool> {
    let deadline = Instant::now() + BUSY_RETRY;
    loop {
        match sys::umount(path, false) {
            Ok(()) => return Ok(true),
            Err(Errno::EBUSY) => {
                if Instant::now() >= deadline {
                    return sys::umount(path, true)
                        .map(|()| false)
                        .map_err(|e| Error::Unmount {
                            path: path.to_path_buf(),
                            source: e.into(),
                        });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Already unmounted (from outside): nothing left to do.
            Err(Errno::EINVAL | Errno::ENOENT) => return Ok(true),
            Err(e) => {
                return Err(Error::Unmount {
                    path: path.to_path_buf(),
                    source: e.into(),
                })
            }
        }
    }
}
