//! [`MountHandle`]: a running mount, from the moment it answers until it is unmounted (by the
//! handle, when dropped, or from outside), and the request threads joined.

use crate::unmount::unmount_or_detach;
use crate::{Error, Result};
use fuser::SessionUnmounter;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long an unmount waits for the request threads to finish.
const JOIN_WAIT: Duration = Duration::from_secs(5);

/// How the session ended: `None` while it runs.
#[derive(Default)]
pub(crate) struct Ended {
    state: Mutex<Option<std::result::Result<(), String>>>,
    cv: Condvar,
}

impl Ended {
    pub(crate) fn set(&self, r: std::result::Result<(), String>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = Some(r);
        self.cv.notify_all();
    }

    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
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

    pub(crate) fn error(&self) -> Option<String> {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.as_ref().and_then(|r| r.as_ref().err().cloned())
    }
}

/// How a mount is undone: the way depends on how it was made.
pub(crate) enum Unmounter {
    /// Mounted with mount(2): unmount with umount2(2).
    Kernel,
    /// Mounted by fusermount3: unmount through fuser (umount2, else `fusermount3 -u -z`).
    Fuser(SessionUnmounter),
}

/// A mounted archive. [`MountHandle::unmount`] or dropping it unmounts (lazily, if files are
/// still open under it) and joins the request threads.
pub struct MountHandle {
    pub(crate) mountpoint: PathBuf,
    /// The mount's device, to tell it from whatever is there after an outside unmount (0:
    /// not known yet).
    pub(crate) dev: u64,
    pub(crate) ended: Arc<Ended>,
    pub(crate) thread: Option<JoinHandle<()>>,
    pub(crate) unmounter: Option<Unmounter>,
    pub(crate) errors: Arc<AtomicU64>,
}

impl std::fmt::Debug for MountHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountHandle")
            .field("mountpoint", &self.mountpoint)
            .field("mounted", &self.is_mounted())
            .finish()
    }
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

    pub(crate) fn shutdown(&mut self) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MountOptions;

    #[test]
    fn handles_cross_threads() {
        // The Python binding keeps a handle in an object any thread may drop.
        fn send_sync<T: Send + Sync>() {}
        send_sync::<MountHandle>();
        send_sync::<MountOptions>();
        send_sync::<Error>();
    }
}
