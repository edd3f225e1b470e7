//! `NativeMount`: a read-only FUSE mount of an open archive, behind `hexz.mount`.
//!
//! The mount serves the `Arc<Archive>` of a [`NativeArchive`] (so local paths and every URL the
//! reader opens can be mounted) from `hexz-fuse`'s request threads, which never need the GIL.
//! Mounting and unmounting release the GIL. Linux only: elsewhere the constructor raises
//! `hexz.UnsupportedFeatureError`.

use crate::reader::NativeArchive;
use pyo3::prelude::*;
use std::path::PathBuf;

#[cfg(target_os = "linux")]
use crate::errors::fuse_to_py;
#[cfg(target_os = "linux")]
use parking_lot::Mutex;

/// One mount. `unmount()` or dropping the object unmounts; a process that inherited the
/// object through `fork()` never unmounts its parent's mount.
#[pyclass(frozen, module = "hexz._native")]
pub struct NativeMount {
    path: String,
    archive: String,
    #[cfg(target_os = "linux")]
    handle: Mutex<Option<hexz_fuse::MountHandle>>,
    #[cfg(target_os = "linux")]
    pid: u32,
}

#[pymethods]
impl NativeMount {
    #[new]
    #[pyo3(signature = (archive, mountpoint, *, uid = None, gid = None, allow_other = false, threads = 8))]
    fn new(
        py: Python<'_>,
        archive: &NativeArchive,
        mountpoint: PathBuf,
        uid: Option<u32>,
        gid: Option<u32>,
        allow_other: bool,
        threads: usize,
    ) -> PyResult<Self> {
        #[cfg(target_os = "linux")]
        {
            mount(py, archive, mountpoint, uid, gid, allow_other, threads)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (py, uid, gid, allow_other, threads);
            Err(crate::errors::hexz_error(
                crate::errors::HexzClass::UnsupportedFeature,
                format!(
                    "cannot mount {} at {}: mounting needs FUSE, which hexz supports on Linux only",
                    archive.path_str(),
                    mountpoint.display()
                ),
            ))
        }
    }

    /// Where the archive is mounted (absolute, symlinks resolved).
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// The path or URL of the mounted archive.
    #[getter]
    fn archive(&self) -> &str {
        &self.archive
    }

    /// Whether the mount still serves requests: false after `unmount()`, or once it was
    /// unmounted from outside (`hexz unmount`, `umount`).
    #[getter]
    fn is_mounted(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.handle
                .lock()
                .as_ref()
                .is_some_and(|h| h.is_mounted() && self.pid == std::process::id())
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// Reads answered with an I/O error (`EIO`: a corrupt block, a failing store) so far.
    #[getter]
    fn read_errors(&self) -> u64 {
        #[cfg(target_os = "linux")]
        {
            self.handle.lock().as_ref().map_or(0, |h| h.read_errors())
        }
        #[cfg(not(target_os = "linux"))]
        {
            0
        }
    }

    /// Unmounts and joins the request threads (the GIL released). A busy mount (a file still
    /// open under it) is detached lazily: it leaves the tree at once and its threads end with
    /// its last file. Does nothing when already unmounted, and in a forked child (the mount
    /// belongs to the parent).
    fn unmount(&self, py: Python<'_>) -> PyResult<()> {
        #[cfg(target_os = "linux")]
        {
            let Some(handle) = self.handle.lock().take() else {
                return Ok(());
            };
            if self.pid != std::process::id() {
                std::mem::forget(handle);
                return Ok(());
            }
            py.detach(|| handle.unmount()).map_err(fuse_to_py)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = py;
            Ok(())
        }
    }

    fn __repr__(&self) -> String {
        let state = if self.is_mounted() {
            "mounted"
        } else {
            "unmounted"
        };
        format!("<NativeMount {} at {} ({state})>", self.archive, self.path)
    }
}

#[cfg(target_os = "linux")]
fn mount(
    py: Python<'_>,
    archive: &NativeArchive,
    mountpoint: PathBuf,
    uid: Option<u32>,
    gid: Option<u32>,
    allow_other: bool,
    threads: usize,
) -> PyResult<NativeMount> {
    if !(1..=256).contains(&threads) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "threads must be 1 to 256, got {threads}"
        )));
    }
    let name = archive.path_str().to_string();
    // The source shown in /proc/mounts: a local archive by its absolute path (a URL as given,
    // less any user:password, which hexz-fuse drops).
    let fsname = (!crate::remote::is_url(&name))
        .then(|| std::fs::canonicalize(&name).ok())
        .flatten()
        .map(|p| format!("hexz:{}", p.display()));
    let opts = hexz_fuse::MountOptions {
        uid,
        gid,
        allow_other,
        threads,
        fsname,
        ..hexz_fuse::MountOptions::default()
    };
    let shared = archive.archive().clone();
    let handle = py
        .detach(|| hexz_fuse::mount_background(shared, &mountpoint, &opts))
        .map_err(fuse_to_py)?;
    Ok(NativeMount {
        path: handle.mountpoint().to_string_lossy().into_owned(),
        archive: name,
        handle: Mutex::new(Some(handle)),
        pid: std::process::id(),
    })
}

#[cfg(target_os = "linux")]
impl Drop for NativeMount {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.get_mut().take() {
            if self.pid == std::process::id() {
                // Unmounting needs no GIL, but holds it: at worst 0.3 s of retries while busy.
                drop(handle);
            } else {
                // Inherited through fork(): the mount and its threads are the parent's.
                std::mem::forget(handle);
            }
        }
    }
}
