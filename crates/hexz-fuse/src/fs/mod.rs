//! [`HexzFs`]: the archive's entries as a read-only file system (`fuser::Filesystem`).

/// The inode table: built once from the entries table, then looked up and turned into attributes.
mod inodes;
/// How over-long path components are shown: [`shown_name`], [`NAME_MAX`].
mod names;
/// The `fuser::Filesystem` requests: lookups, reads, directory listings, and the refusals of
/// a read-only mount.
mod ops;
/// Watching the archive's local file for changes made in place while mounted.
mod watch;

pub use names::{shown_name, NAME_MAX};

use fuser::INodeNo;
use hexz_core::{Archive, Entry};
use inodes::{Kind, Node};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use watch::Watch;

/// The archive as a file system: an inode table built once from the entries table, and reads
/// served by `Archive::read_entry_at` (block cache, read-ahead, integrity checks). Immutable
/// after construction, so every request is served from any thread without locks.
pub struct HexzFs {
    archive: Arc<Archive>,
    /// Inode `i` is `nodes[i - 1]`; inode 1 is the root.
    nodes: Vec<Node>,
    uid: u32,
    gid: u32,
    /// The mount's `uid`/`gid` options: override the archive's recorded owners.
    owner_override: (Option<u32>, Option<u32>),
    blksize: u32,
    log_errors: bool,
    kernel_readahead: u32,
    errors: Arc<AtomicU64>,
    /// Entries left out of the mount: their shortened name is another entry's name.
    hidden: Vec<String>,
    /// The archive's local file, watched for changes made in place while mounted.
    watch: Option<Watch>,
    /// The kernel supports `FUSE_NO_OPEN_SUPPORT` / `FUSE_NO_OPENDIR_SUPPORT`: answering the
    /// first OPEN (OPENDIR) with ENOSYS makes it skip those round trips for good, and open
    /// every file with `FOPEN_KEEP_CACHE` (every directory with `FOPEN_CACHE_DIR` too), which
    /// is what this read-only archive asks for anyway.
    no_open: bool,
    no_opendir: bool,
}

impl HexzFs {
    /// Number of inodes (the root included).
    pub fn inode_count(&self) -> usize {
        self.nodes.len()
    }

    /// Paths of the entries left out because their shortened name ([`shown_name`]) is the
    /// name of another entry in the same directory; empty for any archive not built so.
    pub fn hidden(&self) -> &[String] {
        &self.hidden
    }

    /// Counts reads answered with an error since mounting.
    pub(crate) fn error_counter(&self) -> Arc<AtomicU64> {
        self.errors.clone()
    }

    /// Fills `buf` from `entry` at `offset`; short only at the entry's end.
    fn read_into(&self, entry: &Entry, offset: u64, buf: &mut [u8]) -> hexz_core::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let n = self
                .archive
                .read_entry_at(entry, offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn path_of(&self, ino: INodeNo) -> String {
        match self.node(ino).map(|n| &n.kind) {
            Ok(Kind::File(e)) => e.path.clone(),
            _ => format!("inode {}", ino.0),
        }
    }
}
