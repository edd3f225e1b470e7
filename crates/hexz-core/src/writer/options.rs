//! What a write is told and what it reports: [`WriteOptions`], [`EntryMeta`] (with
//! [`meta_of`] for local files) and [`WriteReport`].

use super::{Chunking, DEFAULT_ENTRIES_PER_PAGE, DEFAULT_RECORD_BLOCK_MIN};

/// Default [`WriteOptions::entry_page_rows`].
pub const DEFAULT_ENTRY_PAGE_ROWS: u32 = 65_536;
/// Default [`WriteOptions::pages_in_summary`]: a summary of at most 32 KiB of PageRefs,
/// which an open over HTTP or S3 gets in its one tail read.
pub const DEFAULT_PAGES_IN_SUMMARY: u32 = 512;
/// Default [`WriteOptions::pages_per_directory`]: 256 KiB directory frames, ten of them
/// for a 10 TiB archive of 64 KiB blocks.
pub const DEFAULT_PAGES_PER_DIRECTORY: u32 = 4096;
use crate::codec::Compression;
use crate::crypt::Encryption;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// How to write an archive.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Block codec.
    pub compression: Compression,
    /// Nominal block size (power of two, 4 KiB to 16 MiB).
    pub block_size: u32,
    /// Compression threads (0 = all cores).
    pub threads: usize,
    /// Store identical blocks once.
    pub dedup: bool,
    /// Records are packed whole into blocks, and a block of records is cut at the first record
    /// boundary at or past this many bytes (`0`: cut only at `block_size`). A record that fits
    /// in a block never straddles two, and one larger than a block starts a block and ends one,
    /// so a shuffled read of one sample decodes about that sample. Small values (the default,
    /// 4 KiB) favour shuffled reads, values near `block_size` favour the compression ratio.
    pub record_block_min: u32,
    /// Block entries per index page, `1..=65536` (`docs/FORMAT.md` §7; default 4096): a
    /// lookup reads and decodes one page, so larger pages mean fewer, larger reads.
    pub entries_per_page: u32,
    /// Fixed archive id (random when `None`); for reproducible output. Not allowed with
    /// encryption, whose per-archive keys and nonces rely on a fresh random id.
    pub archive_id: Option<[u8; 16]>,
    /// Encrypt every block and frame with AES-256-GCM (`docs/FORMAT.md` §9); needs the
    /// `encryption` feature.
    pub encryption: Option<Encryption>,
    /// Sign the archive with this Ed25519 key as it is finished (`docs/FORMAT.md` §10); needs
    /// the `signing` feature. Works for any sink, S3 uploads included.
    #[cfg(feature = "signing")]
    pub signing_key: Option<Arc<crate::sign::SigningKey>>,
    /// Record what a file system snapshot keeps beyond mode and mtime when adding local files
    /// and trees (`docs/FORMAT.md` §7.6): owners (ids and names), extended attributes (ACLs
    /// included), hard links, device nodes, FIFOs and sockets. On by default.
    pub file_attrs: bool,
    /// Also record access and status-change times (`--times`); off by default, since reading
    /// a tree changes its access times anyway.
    pub keep_times: bool,
    /// When adding a tree, do not descend into directories on another file system than the
    /// tree's root (`--one-file-system`, as tar and rsync); the mount point itself is kept.
    pub one_file_system: bool,
    /// A tree of more entries than this is written as entry pages of this many rows
    /// (`docs/FORMAT.md` §7.7; default 65,536, at most 1,048,576), so that no table is one
    /// large frame and a lookup by path reads one page.
    pub entry_page_rows: u32,
    /// An archive of more index and record pages than this (default 512) lists them in a
    /// page directory (`docs/FORMAT.md` §7.8) instead of the summary, so that the summary,
    /// which opening reads whole, stays the same size however large the archive grows.
    pub pages_in_summary: u32,
    /// PageRefs per frame of a page directory, `1..=65536` (default 4096).
    pub pages_per_directory: u32,
    /// How blocks are cut: `block_size` bytes each (the default), or content-defined chunks
    /// (FastCDC), so that bytes inserted or deleted change only the blocks around the edit.
    pub chunking: Chunking,
    /// Write a thin archive (`docs/FORMAT.md` §8): blocks whose content the parent holds
    /// are not stored but read from it. Parent and child are both encrypted with the same
    /// key, or neither is.
    pub parent: Option<ThinParent>,
}

/// The parent of a thin archive being written: the archive, opened (with the key, when
/// encrypted), and where readers will find it (recorded in the archive; a path relative to
/// the new archive's directory, an absolute path or a URL).
#[derive(Clone)]
pub struct ThinParent {
    /// The parent, open.
    pub archive: Arc<crate::Archive>,
    /// Where readers find it.
    pub location: String,
}

impl std::fmt::Debug for ThinParent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ThinParent({})", self.location)
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: Compression::Lz4,
            block_size: 64 * 1024,
            threads: 0,
            dedup: true,
            record_block_min: DEFAULT_RECORD_BLOCK_MIN,
            entries_per_page: DEFAULT_ENTRIES_PER_PAGE,
            archive_id: None,
            encryption: None,
            #[cfg(feature = "signing")]
            signing_key: None,
            file_attrs: true,
            keep_times: false,
            one_file_system: false,
            entry_page_rows: DEFAULT_ENTRY_PAGE_ROWS,
            pages_in_summary: DEFAULT_PAGES_IN_SUMMARY,
            pages_per_directory: DEFAULT_PAGES_PER_DIRECTORY,
            chunking: Chunking::Fixed,
            parent: None,
        }
    }
}

/// Metadata of one entry being added.
#[derive(Debug, Clone, Copy, Default)]
pub struct EntryMeta {
    /// Unix permission bits.
    pub mode: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
}

/// What a finished write produced.
#[derive(Debug, Clone, Default)]
pub struct WriteReport {
    /// Bytes of the logical stream.
    pub logical_size: u64,
    /// Bytes of the archive file.
    pub file_len: u64,
    /// Blocks in the index.
    pub blocks: u64,
    /// Blocks whose bytes were stored (not holes, not duplicates).
    pub stored_blocks: u64,
    /// Blocks that repeated an earlier block and were stored once.
    pub dedup_blocks: u64,
    /// All-zero blocks stored as holes.
    pub zero_blocks: u64,
    /// Blocks of a thin archive read from its parent, not stored.
    pub parent_blocks: u64,
    /// Entries written.
    pub entries: u64,
    /// Records written.
    pub records: u64,
    /// Source files skipped (sockets, devices, fifos).
    pub skipped: Vec<String>,
}

/// Entry metadata of a local file.
pub fn meta_of(md: &std::fs::Metadata) -> EntryMeta {
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&md.permissions()) & 0o7777;
    #[cfg(not(unix))]
    let mode = if md.permissions().readonly() {
        0o444
    } else {
        0o644
    };
    let mtime_ns = md
        .modified()
        .ok()
        .map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos().min(i64::MAX as u128) as i64,
            Err(e) => -(e.duration().as_nanos().min(i64::MAX as u128) as i64),
        })
        .unwrap_or(0);
    EntryMeta { mode, mtime_ns }
}
