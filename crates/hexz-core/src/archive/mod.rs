//! Reading archives: [`Archive`].

/// Loading, decoding and checking one block, and runs of them for read-ahead.
mod block;
/// Entries and file attributes: one table each, or entry pages.
mod entries;
/// Reading and checking one frame: the summary, the tables, index and record pages.
mod frame;
/// The metadata bytes read from a remote store, kept to reopen the archive elsewhere.
mod held;
/// Index and record pages, the entry and record tables, and their lookups.
mod index;
/// Opening an archive: header, key, footer, summary and signature checks.
mod open;
/// Where each index and record page is: in the summary or behind the page directory.
mod pages;
/// Thin archives: their parents, opened and checked, and the blocks read from them.
mod parents;
/// The read planner, batch reads and the read-ahead triggers.
mod read;

pub use held::{HeldMetadata, Reopen, HELD_BUDGET};
pub use open::{read_header, supported_features, ReadOptions};
pub use parents::{resolve_parent_location, ParentOpener, MAX_CHAIN_DEPTH};

use crate::cache::Cache;
use crate::crypt::Crypt;
use crate::prefetch::{InFlight, Prefetcher};
use crate::stats::{Counters, ReadStats};
use crate::store::ReadAt;
use crate::{Part, Place};
use block::BlockKey;
use hexz_format::signature::Signature;
use hexz_format::{Entry, FileAttrs, Footer, Header, RecordGroup, Summary};
use index::{Page, RecordPage};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// What an open archive shares between its readers and its read-ahead threads: what was
/// parsed at open, the caches, and the read counters. Read-ahead threads hold it weakly.
pub(crate) struct ArchiveState {
    pub(crate) store: Arc<dyn ReadAt>,
    name: String,
    header: Header,
    footer: Footer,
    summary: Summary,
    file_len: u64,
    blocks: Cache<BlockKey, Arc<[u8]>>,
    pages: Cache<u32, Arc<Page>>,
    record_pages: Cache<u32, Arc<RecordPage>>,
    /// The page directory (§7.8) and its frames, when the archive has one.
    page_dirs: pages::PageDirs,
    /// The parents of a thin archive (§8), opened and checked with it.
    parents: Vec<parents::OpenParent>,
    entries: Mutex<Option<Arc<[Entry]>>>,
    /// The stored metadata bytes read so far (of a remote store).
    held: held::Held,
    groups: Mutex<Option<Arc<[RecordGroup]>>>,
    /// The file attributes (v2 extension type 1), one per entry; empty when absent.
    attrs: Mutex<Option<Arc<[FileAttrs]>>>,
    /// The entry page directory of a paged v2 archive (§7.7), read once.
    entry_dir: Mutex<Option<Arc<hexz_format::entry_pages::EntryPageDir>>>,
    /// The entry page a lookup by path read last, with its number.
    last_entry_page: Mutex<Option<(usize, Arc<[Entry]>)>>,
    /// Where the last read ended: a read starting there is sequential.
    last_end: AtomicU64,
    verify_hashes: bool,
    in_flight: InFlight,
    /// The archive's keys when it is encrypted.
    pub(crate) crypt: Option<Crypt>,
    /// Content hashes of all-zero blocks by length (keyed when encrypted), so that holes
    /// cost nothing to verify.
    zero_hashes: Mutex<HashMap<u32, [u8; 32]>>,
    /// The signature block of a signed archive (parsed, not necessarily checked).
    signature: Option<Signature>,
    /// The root hash, computed at open.
    root_hash: [u8; 32],
    /// What reads returned and decoded.
    pub(crate) stats: Counters,
}

impl ArchiveState {
    /// `part` of this archive, for an error.
    fn place(&self, part: Part) -> Place {
        Place::new(&self.name, part)
    }
}

/// An open archive. Cheap to share: every method takes `&self` and is safe from many threads.
pub struct Archive {
    state: Arc<ArchiveState>,
    prefetch: Option<Prefetcher>,
    readahead_blocks: usize,
}

impl Archive {
    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.state.header
    }
    /// The parsed footer.
    pub fn footer(&self) -> &Footer {
        &self.state.footer
    }
    /// The parsed summary.
    pub fn summary(&self) -> &Summary {
        &self.state.summary
    }
    /// Size of the archive file in bytes.
    pub fn file_len(&self) -> u64 {
        self.state.file_len
    }
    /// Size of the logical stream in bytes.
    pub fn len(&self) -> u64 {
        self.state.summary.logical_size
    }
    /// Whether the logical stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether the archive is encrypted (`ENCRYPTED`, `docs/FORMAT.md` §9).
    pub fn is_encrypted(&self) -> bool {
        self.state.crypt.is_some()
    }
    /// The storage's name (path or URL).
    pub fn name(&self) -> &str {
        &self.state.name
    }
    /// The underlying storage.
    pub fn store(&self) -> &Arc<dyn ReadAt> {
        &self.state.store
    }

    /// The root hash (`docs/FORMAT.md` §10): covers the header and, through the summary's
    /// frame hashes and the index's content hashes, every byte of the archive.
    pub fn root_hash(&self) -> [u8; 32] {
        self.state.root_hash
    }

    /// The signature block, when the archive is signed. Parsed at open; checked only when
    /// opened with a `verify_key` or by [`crate::verify::verify`].
    pub fn signature(&self) -> Option<&Signature> {
        self.state.signature.as_ref()
    }

    /// What this archive's reads have returned and decoded since it was opened.
    pub fn stats(&self) -> ReadStats {
        self.state.stats.snapshot()
    }

    /// Bytes of decoded blocks held in the cache.
    pub fn cached_bytes(&self) -> usize {
        self.state.blocks.bytes()
    }

    /// Changes the block cache's byte budget ([`ReadOptions::cache_bytes`]); a smaller one
    /// evicts the least recently used blocks now. For a reader whose needs change while the
    /// archive is open: a remote archive keeps many blocks decoded ahead while it fetches,
    /// and few once its disk cache holds all of it.
    pub fn set_cache_bytes(&self, bytes: usize) {
        self.state.blocks.set_budget(bytes);
    }

    /// The shared state, for the crate's other readers (gathered reads, verification).
    pub(crate) fn state(&self) -> &ArchiveState {
        &self.state
    }
}
