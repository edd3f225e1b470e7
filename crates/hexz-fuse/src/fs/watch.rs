//! [`Watch`]: noticing that the archive's file was changed in place under a mount.

use hexz_core::Archive;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// The archive's file as it was at mount: a file written, truncated or touched in place under
/// the engine would hand out new bytes next to old ones (an index page read afresh vouches
/// for new blocks), so once its length or mtime changes every read answers `EIO`. Replacing
/// the file by `rename` is harmless (the engine keeps reading the old inode) and not seen.
pub(super) struct Watch {
    /// A second descriptor on the same inode as the engine's.
    file: File,
    len: u64,
    mtime: SystemTime,
    /// Set once a change is seen: from then on reads fail without touching the engine.
    pub(super) changed: AtomicBool,
}

impl Watch {
    /// Watches the local file `archive` reads from, if its path still names it: same length,
    /// and the same first and last 4 KiB. A remote store, or a file already replaced by
    /// another, has nothing to watch.
    pub(super) fn open(archive: &Archive) -> Option<Watch> {
        let store = archive.store();
        let file = File::open(store.describe()).ok()?;
        let md = file.metadata().ok()?;
        let len = store.len().ok()?;
        if !md.is_file() || md.len() != len {
            return None;
        }
        let n = len.min(4096);
        for off in [0, len - n] {
            let mut ours = vec![0u8; n as usize];
            let mut theirs = vec![0u8; n as usize];
            std::os::unix::fs::FileExt::read_exact_at(&file, &mut ours, off).ok()?;
            store.read_exact_at(off, &mut theirs).ok()?;
            if ours != theirs {
                return None;
            }
        }
        Some(Watch {
            len: md.len(),
            mtime: md.modified().ok()?,
            file,
            changed: AtomicBool::new(false),
        })
    }

    /// Whether the file still is as it was at mount. Checked after a read: a write updates
    /// the mtime before it changes any byte, so an unchanged file means every byte the read
    /// used (now or earlier, through the cache) was the old one.
    pub(super) fn unchanged(&self) -> bool {
        if self.changed.load(Ordering::Relaxed) {
            return false;
        }
        let same = self
            .file
            .metadata()
            .is_ok_and(|md| md.len() == self.len && md.modified().ok() == Some(self.mtime));
        if !same {
            self.changed.store(true, Ordering::Relaxed);
        }
        same
    }
}

/// Why a read of `archive` fails once its file was changed in place.
pub(super) fn changed_error(archive: &str) -> hexz_core::Error {
    hexz_core::Error::io(
        hexz_core::Action::Read,
        hexz_core::Place::whole(archive),
        std::io::Error::other(
            "the archive file was changed while mounted; unmount and mount it again to read \
             the new contents",
        ),
    )
}
