//! Reading archives: [`Archive`].

use crate::cache::{Cache, Weigh};
use crate::codec::decode_into;
use crate::crypt::{content_hash, Crypt, KeySource};
use crate::prefetch::{InFlight, Prefetcher};
use crate::stats::{Counters, ReadStats};
use crate::store::{FileStore, ReadAt};
use crate::{Error, Result};
use hexz_format::entry::parse_entries;
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::record::{parse_groups, parse_record_page};
use hexz_format::signature::{Signature, SIGNATURE_LEN};
use hexz_format::{
    BlockEntry, Codec, Entry, Footer, FrameKind, FrameRef, Header, Record, RecordGroup,
    RequiredFeatures, Summary,
};
use parking_lot::Mutex;
use rayon::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How much of the file's tail is read at open, to get footer and summary in one request.
const TAIL_READ: u64 = 64 * 1024;
/// Smallest byte budget of the index page and record page caches.
const PAGE_CACHE_MIN: usize = 32 << 20;
/// The most entries (or records) a page may hold (docs/FORMAT.md §7).
const MAX_PAGE_ENTRIES: usize = 65_536;
/// Stored ranges closer than this are fetched with one read.
const COALESCE_GAP: u64 = 64 * 1024;
/// Largest single coalesced read.
const COALESCE_MAX: u64 = 16 << 20;

/// Most blocks a sequential reader keeps in flight ahead of itself.
const MAX_READAHEAD_BLOCKS: usize = 4096;
/// On a remote store: read-ahead window in bytes (at least), ...
const REMOTE_READAHEAD_BYTES: usize = 64 << 20;
/// ... threads (at least), each with one request in flight, ...
const REMOTE_READAHEAD_THREADS: usize = 8;
/// ... of at most this many stored bytes each.
const REMOTE_RUN_BYTES: u64 = 8 << 20;

/// Tuning for an open archive.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Byte budget of the decoded block cache.
    pub cache_bytes: usize,
    /// Background threads decoding ahead of a sequential reader (0 disables read-ahead).
    pub readahead_threads: usize,
    /// Blocks decoded ahead of a sequential reader. On a remote store (see
    /// [`crate::ReadAt::is_remote`]) at least 64 MiB worth, on at least 8 threads, fetched in
    /// runs of up to 8 MiB of stored bytes (8 requests of AWS's advised 8-16 MiB in flight).
    pub readahead_blocks: usize,
    /// Check every block's content hash on read (slower; meant for untrusted stores).
    /// Encrypted archives are authenticated on every read regardless (AES-GCM).
    pub verify_hashes: bool,
    /// The key or passphrase of an encrypted archive (needs the `encryption` feature).
    /// Given for an archive that is not encrypted, opening fails with
    /// [`Error::NotEncrypted`]: an unencrypted file in place of an encrypted one is not
    /// authenticated, and is not read as if it were.
    pub key: Option<KeySource>,
    /// The signer's public key (`signing` feature): opening fails unless the archive carries a
    /// valid signature by this key over its root hash ([`Error::NotSigned`],
    /// [`Error::BadSignature`]), and every frame's hash and every block's content hash is then
    /// checked as it is read, so data from an untrusted store is verified end to end.
    #[cfg(feature = "signing")]
    pub verify_key: Option<crate::sign::VerifyingKey>,
    /// Memory-map a local archive ([`FileStore::open_mapped`]), so that
    /// [`Archive::read_gather`] serves raw blocks in place. Off by default: the file must not
    /// shrink while it is open.
    pub mmap: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            cache_bytes: 64 << 20,
            readahead_threads: 4,
            readahead_blocks: 32,
            verify_hashes: false,
            key: None,
            #[cfg(feature = "signing")]
            verify_key: None,
            mmap: false,
        }
    }
}

/// What names a decoded block in the cache: where its stored bytes are and everything that
/// decides how they decode. Blocks deduplicated to the same stored bytes share one entry, so
/// a repeated block is fetched and decoded once; entries that only claim the same offset
/// but differ in any other way do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    parent: Option<u8>,
    stored_offset: u64,
    stored_len: u32,
    raw_len: u32,
    codec: Codec,
    crc: u32,
    hash: [u8; 32],
}

impl BlockKey {
    pub(crate) fn of(e: &BlockEntry) -> BlockKey {
        BlockKey {
            parent: e.parent,
            stored_offset: e.stored_offset,
            stored_len: e.stored_len,
            raw_len: e.raw_len,
            codec: e.codec,
            crc: e.crc,
            hash: e.hash,
        }
    }
}

/// One index page: its block entries, and their logical offsets apart, so that finding the
/// block of an offset searches 8 bytes per block (a page of 16,000 blocks in 128 KiB, which
/// stays in the CPU's cache) instead of touching a whole entry at each step.
pub(crate) struct Page {
    pub(crate) entries: Vec<BlockEntry>,
    starts: Vec<u64>,
}
impl Page {
    fn new(entries: Vec<BlockEntry>) -> Page {
        let starts = entries.iter().map(|e| e.logical_offset).collect();
        Page { entries, starts }
    }

    fn weight_of(entries: usize) -> usize {
        entries * (std::mem::size_of::<BlockEntry>() + 8) + 64
    }
}
impl Weigh for Arc<Page> {
    fn weight(&self) -> usize {
        Page::weight_of(self.entries.len())
    }
}
struct RecordPage(Vec<Record>);
impl RecordPage {
    fn weight_of(records: usize) -> usize {
        records * std::mem::size_of::<Record>() + 64
    }
}
impl Weigh for Arc<RecordPage> {
    fn weight(&self) -> usize {
        RecordPage::weight_of(self.0.len())
    }
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn ReadAt>,
    pub(crate) name: String,
    header: Header,
    footer: Footer,
    summary: Summary,
    file_len: u64,
    pub(crate) blocks: Cache<BlockKey, Arc<[u8]>>,
    pages: Cache<u32, Arc<Page>>,
    record_pages: Cache<u32, Arc<RecordPage>>,
    entries: Mutex<Option<Arc<[Entry]>>>,
    groups: Mutex<Option<Arc<[RecordGroup]>>>,
    last_end: AtomicU64,
    verify_hashes: bool,
    pub(crate) in_flight: InFlight,
    /// The archive's keys when it is encrypted.
    crypt: Option<Crypt>,
    /// Keyed content hashes of all-zero blocks by length (encrypted archives' holes).
    zero_hashes: Mutex<std::collections::HashMap<u32, [u8; 32]>>,
    /// The signature block of a signed archive (parsed, not necessarily checked).
    signature: Option<Signature>,
    /// The root hash, computed at open.
    root_hash: [u8; 32],
    /// What reads returned and decoded.
    pub(crate) stats: Counters,
}

/// An open archive. Cheap to share: every method takes `&self` and is safe from many threads.
pub struct Archive {
    inner: Arc<Inner>,
    prefetch: Option<Prefetcher>,
    readahead_blocks: usize,
}

/// The required features (`docs/FORMAT.md` §4) this build can read: `ZSTD` with the
/// `compression-zstd` feature, `ENCRYPTED` with the `encryption` feature.
pub fn supported_features() -> u64 {
    let mut f = 0;
    if cfg!(feature = "compression-zstd") {
        f |= RequiredFeatures::ZSTD;
    }
    if cfg!(feature = "encryption") {
        f |= RequiredFeatures::ENCRYPTED;
    }
    f
}

/// Reads and parses the header of the archive in `store` (128 bytes), without a key and
/// without checking that this build supports its features: for tools that only describe an
/// archive (is it encrypted, with which KDF) or serve its bytes.
pub fn read_header(store: &dyn ReadAt) -> Result<Header> {
    let name = store.describe();
    let mut head = [0u8; HEADER_LEN];
    store
        .read_exact_at(0, &mut head)
        .map_err(|e| Error::io(format!("{name}: reading header"), e))?;
    Header::parse(&head, RequiredFeatures::KNOWN)
        .map_err(|e| Error::format(format!("{name}: header"), e))
}

impl Archive {
    /// Opens a local archive with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Archive> {
        Self::open_with_options(path, ReadOptions::default())
    }

    /// Opens a local archive.
    pub fn open_with_options(path: impl AsRef<Path>, opts: ReadOptions) -> Result<Archive> {
        let path = path.as_ref();
        let store = if opts.mmap {
            FileStore::open_mapped(path)
        } else {
            FileStore::open(path)
        }
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        Self::open_store(Arc::new(store), opts)
    }

    /// Opens an archive over any storage. Reads the header and the file's tail only.
    pub fn open_store(store: Arc<dyn ReadAt>, opts: ReadOptions) -> Result<Archive> {
        if opts.readahead_threads > crate::writer::MAX_THREADS {
            return Err(Error::InvalidInput(format!(
                "{} read-ahead threads is more than the {} allowed",
                opts.readahead_threads,
                crate::writer::MAX_THREADS
            )));
        }
        let name = store.describe();
        let file_len = store
            .len()
            .map_err(|e| Error::io(format!("cannot stat {name}"), e))?;
        let min = (HEADER_LEN + FOOTER_LEN) as u64;
        if file_len < min {
            return Err(Error::format(
                name,
                hexz_format::Error::Truncated {
                    what: "archive",
                    need: min,
                    have: file_len,
                },
            ));
        }
        let ctx = |what: &str| format!("{name}: {what}");
        let mut head = [0u8; HEADER_LEN];
        store
            .read_exact_at(0, &mut head)
            .map_err(|e| Error::io(ctx("reading header"), e))?;
        let header = Header::parse(&head, RequiredFeatures::KNOWN)
            .map_err(|e| Error::format(ctx("header"), e))?;
        let missing = header.required.0 & !supported_features();
        if missing != 0 {
            let names = RequiredFeatures(missing).names().join(", ");
            return Err(Error::Unsupported(format!(
                "{name} requires {names}, which this build of hexz does not support"
            )));
        }
        // The key is checked before anything else is read: a wrong key or passphrase fails
        // here, before any block or frame is decrypted.
        let crypt = match (header.required.has(RequiredFeatures::ENCRYPTED), &opts.key) {
            (true, Some(key)) => Some(Crypt::for_reading(&header, head, key, &name)?),
            (true, None) => {
                return Err(Error::KeyRequired(format!(
                    "{name} is encrypted: a key or passphrase is needed to open it"
                )))
            }
            (false, Some(_)) => {
                return Err(Error::NotEncrypted(format!(
                    "{name} is not encrypted, but a key was given: refusing to read an \
                     unauthenticated archive as if it were protected (open it without a key)"
                )))
            }
            (false, None) => None,
        };
        let tail_len = TAIL_READ.min(file_len - HEADER_LEN as u64);
        let tail_start = file_len - tail_len;
        let mut tail = vec![0u8; tail_len as usize];
        store
            .read_exact_at(tail_start, &mut tail)
            .map_err(|e| Error::io(ctx("reading footer"), e))?;
        let footer = Footer::parse(&tail, file_len).map_err(|e| {
            // The header is valid, so a missing footer most likely means a cut-short file.
            let what = match e {
                hexz_format::Error::BadMagic { .. } => "footer missing (file truncated?)",
                _ => "footer",
            };
            Error::format(ctx(what), e)
        })?;
        let sref = FrameRef {
            offset: footer.summary_offset,
            stored_len: footer.summary_stored_len,
            raw_len: footer.summary_raw_len,
            codec: footer.summary_codec.id(),
            crc: footer.summary_crc,
            hash: [0; 32],
        };
        let encrypted = header.required.has(RequiredFeatures::ENCRYPTED);
        sref.validate(
            FrameKind::Summary,
            footer.summary_offset + footer.summary_stored_len as u64,
            encrypted,
        )
        .map_err(|e| Error::format(ctx("summary"), e))?;
        let stored = if footer.summary_offset >= tail_start {
            let s = (footer.summary_offset - tail_start) as usize;
            tail[s..s + footer.summary_stored_len as usize].to_vec()
        } else {
            read_stored(&*store, &sref).map_err(|e| Error::io(ctx("reading summary"), e))?
        };
        let root_hash = crate::sign::root_hash(&head, &stored);
        let signature = match footer.signature_offset {
            Some(at) => {
                let s = (at - tail_start) as usize;
                Some(
                    Signature::parse(&tail[s..s + SIGNATURE_LEN])
                        .map_err(|e| Error::format(ctx("signature"), e))?,
                )
            }
            None => None,
        };
        #[cfg(feature = "signing")]
        if let Some(key) = &opts.verify_key {
            let Some(sig) = &signature else {
                return Err(Error::NotSigned(format!(
                    "{name} is not signed, but a public key was given to verify it with"
                )));
            };
            crate::sign::check(sig, &root_hash, Some(key), &name)?;
        }
        #[cfg(feature = "signing")]
        let verify_hashes = opts.verify_hashes || opts.verify_key.is_some();
        #[cfg(not(feature = "signing"))]
        let verify_hashes = opts.verify_hashes;
        let raw = decode_frame(
            &stored,
            &sref,
            FrameKind::Summary,
            &name,
            crypt.as_ref(),
            false,
        )?;
        let summary = Summary::parse(&raw, footer.summary_offset, encrypted)
            .map_err(|e| Error::format(ctx("summary"), e))?;
        let block_size = header.block_size as usize;
        let inner = Arc::new(Inner {
            store,
            name,
            header,
            footer,
            summary,
            file_len,
            // Blocks of the nominal size always fit (hexz writes no larger ones; a larger block
            // of another writer is cached when it fits a shard, else decoded per read).
            blocks: Cache::new(opts.cache_bytes, block_size),
            // Index and record pages are small next to the data they describe (64 B per
            // block, 16 B per record): give them enough room for a whole 2 GB data set or a
            // large window of a bigger one, however small the block cache is. The largest
            // page the spec allows always fits, or every lookup would re-read and decode it.
            pages: Cache::new(
                (opts.cache_bytes / 4).max(PAGE_CACHE_MIN),
                Page::weight_of(MAX_PAGE_ENTRIES),
            ),
            record_pages: Cache::new(
                (opts.cache_bytes / 4).max(PAGE_CACHE_MIN),
                RecordPage::weight_of(MAX_PAGE_ENTRIES),
            ),
            entries: Mutex::new(None),
            groups: Mutex::new(None),
            last_end: AtomicU64::new(u64::MAX),
            verify_hashes,
            in_flight: InFlight::default(),
            crypt,
            zero_hashes: Mutex::new(Default::default()),
            signature,
            root_hash,
            stats: Counters::default(),
        });
        // Over a network, the window must cover the bandwidth-delay product: many MiB in a few
        // requests in flight at once, not a handful of blocks fetched one by one.
        let block_size = inner.header.block_size.max(1) as usize;
        let (threads, blocks, run) = if inner.store.is_remote() && opts.readahead_threads > 0 {
            (
                opts.readahead_threads.max(REMOTE_READAHEAD_THREADS),
                opts.readahead_blocks
                    .max(REMOTE_READAHEAD_BYTES / block_size),
                REMOTE_RUN_BYTES,
            )
        } else {
            (opts.readahead_threads, opts.readahead_blocks, 0)
        };
        let prefetch = (threads > 0 && blocks > 0)
            .then(|| Prefetcher::new(Arc::downgrade(&inner), threads, run));
        Ok(Archive {
            inner,
            prefetch,
            readahead_blocks: blocks.min(MAX_READAHEAD_BLOCKS),
        })
    }

    /// The parsed header.
    pub fn header(&self) -> &Header {
        &self.inner.header
    }
    /// The parsed footer.
    pub fn footer(&self) -> &Footer {
        &self.inner.footer
    }
    /// The parsed summary.
    pub fn summary(&self) -> &Summary {
        &self.inner.summary
    }
    /// Size of the archive file in bytes.
    pub fn file_len(&self) -> u64 {
        self.inner.file_len
    }
    /// Size of the logical stream in bytes.
    pub fn len(&self) -> u64 {
        self.inner.summary.logical_size
    }
    /// Whether the logical stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether the archive is encrypted (`ENCRYPTED`, `docs/FORMAT.md` §9).
    pub fn is_encrypted(&self) -> bool {
        self.inner.crypt.is_some()
    }
    /// The storage's name (path or URL).
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The underlying storage.
    pub fn store(&self) -> &Arc<dyn ReadAt> {
        &self.inner.store
    }

    /// Reads up to `buf.len()` bytes of the logical stream at `offset`; short only at the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.inner.read_at(offset, buf)?;
        if n > 0 {
            let end = offset + n as u64;
            let prev = self.inner.last_end.swap(end, Ordering::Relaxed);
            // Large reads decode their blocks in parallel already; read-ahead serves small ones.
            let window = self.readahead_blocks as u64 * self.inner.header.block_size as u64;
            if prev == offset && end < self.len() && (n as u64) < window / 2 {
                if let Some(p) = &self.prefetch {
                    if let Ok(first) = self.inner.block_index_at(end) {
                        let last = (first + self.readahead_blocks as u64)
                            .min(self.inner.summary.block_count);
                        p.request(first..last);
                    }
                }
            }
        }
        Ok(n)
    }

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with [`Error::OutOfRange`].
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let n = self.read_at(offset, buf)?;
        if n != buf.len() {
            return Err(Error::OutOfRange(format!(
                "range {offset}+{} is past the end of the stream ({} bytes)",
                buf.len(),
                self.len()
            )));
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset` into a new vector (shorter at the end of the stream).
    pub fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let avail = self.len().saturating_sub(offset).min(len as u64) as usize;
        let mut v = vec![0u8; avail];
        let n = self.read_at(offset, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// Reads many ranges into `out` back to back (`out.len()` must be the sum of the lengths),
    /// in parallel: one call per batch of samples instead of one per sample.
    pub fn read_batch(&self, ranges: &[(u64, usize)], out: &mut [u8]) -> Result<()> {
        let total = ranges
            .iter()
            .try_fold(0usize, |acc, r| acc.checked_add(r.1));
        if total != Some(out.len()) {
            return Err(Error::InvalidInput(format!(
                "read_batch: the ranges' lengths do not add up to the buffer's {} bytes",
                out.len()
            )));
        }
        let mut jobs: Vec<(u64, &mut [u8])> = Vec::with_capacity(ranges.len());
        let mut rest = out;
        for &(off, len) in ranges {
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            jobs.push((off, dst));
        }
        let read = |(off, dst): &mut (u64, &mut [u8])| self.inner.read_exact(*off, dst);
        if jobs.len() > 1 && crate::fork::parallel_ok() {
            jobs.par_iter_mut().try_for_each(read)
        } else {
            jobs.iter_mut().try_for_each(read)
        }
    }

    /// Asks the read-ahead threads to decode the blocks of `offset..offset + len` into the
    /// cache (when the access order is known in advance). Returns at once.
    pub fn prefetch(&self, offset: u64, len: u64) {
        let (Some(p), false) = (&self.prefetch, len == 0 || offset >= self.len()) else {
            return;
        };
        let end = offset.saturating_add(len).min(self.len()) - 1;
        if let (Ok(first), Ok(last)) = (
            self.inner.block_index_at(offset),
            self.inner.block_index_at(end),
        ) {
            p.request(first..last + 1);
        }
    }

    /// The decoded block holding logical `offset`, and the block's logical start. Served from
    /// the cache when possible; callers may hold the buffer without copying it.
    pub fn block_at(&self, offset: u64) -> Result<(u64, Arc<[u8]>)> {
        let (idx, e) = self.inner.entry_at(offset)?;
        Ok((e.logical_offset, self.inner.load_block(idx, &e)?))
    }

    /// All entries, sorted by path. Loaded on first use.
    pub fn entries(&self) -> Result<Arc<[Entry]>> {
        let s = &self.inner.summary;
        self.inner.table(
            &self.inner.entries,
            s.entry_count > 0,
            &s.entries,
            FrameKind::Entries,
            |raw| parse_entries(raw, s.entry_count, s.logical_size),
        )
    }

    /// Looks up an entry by path (binary search).
    pub fn entry(&self, path: &str) -> Result<Option<Entry>> {
        let entries = self.entries()?;
        let path = path.trim_start_matches("./").trim_end_matches('/');
        Ok(entries
            .binary_search_by(|e| e.path.as_bytes().cmp(path.as_bytes()))
            .ok()
            .map(|i| entries[i].clone()))
    }

    /// Reads up to `buf.len()` bytes of `entry` at `offset` within it; short only at its end.
    pub fn read_entry_at(&self, entry: &Entry, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= entry.size {
            return Ok(0);
        }
        let n = (entry.size - offset).min(buf.len() as u64) as usize;
        self.read_at(entry.data_offset + offset, &mut buf[..n])
    }

    /// The user metadata (JSON bytes), if any.
    pub fn metadata(&self) -> Result<Option<Vec<u8>>> {
        let f = &self.inner.summary.metadata;
        if f.is_absent() {
            return Ok(None);
        }
        self.inner.read_frame(f, FrameKind::Metadata).map(Some)
    }

    /// The record groups (datasets). Loaded on first use.
    pub fn record_groups(&self) -> Result<Arc<[RecordGroup]>> {
        let s = &self.inner.summary;
        let present = s.record_group_count > 0;
        self.inner.table(
            &self.inner.groups,
            present,
            &s.record_groups,
            FrameKind::RecordGroups,
            |raw| parse_groups(raw, s.record_group_count, s.record_count),
        )
    }

    /// Number of records.
    pub fn record_count(&self) -> u64 {
        self.inner.summary.record_count
    }

    /// Record `i` (O(1): one record page, cached).
    pub fn record(&self, i: u64) -> Result<Record> {
        let s = &self.inner.summary;
        if i >= s.record_count {
            return Err(Error::OutOfRange(format!(
                "record {i} of {}",
                s.record_count
            )));
        }
        let per = s.records_per_page as u64;
        let p = (i / per) as u32;
        let page = match self.inner.record_pages.get(&p) {
            Some(pg) => pg,
            None => {
                let pref = &s.record_pages[p as usize];
                let raw = self.inner.read_frame(&pref.frame, FrameKind::RecordPage)?;
                let recs = parse_record_page(&raw, s.logical_size).map_err(|e| {
                    Error::format(format!("{}: record page {p}", self.inner.name), e)
                })?;
                let pg = Arc::new(RecordPage(recs));
                self.inner.record_pages.insert(p, pg.clone());
                pg
            }
        };
        page.0
            .get((i % per) as usize)
            .copied()
            .ok_or_else(|| Error::Integrity {
                what: format!("record page {p}"),
                detail: "too few rows".into(),
            })
    }

    /// Every block entry in logical order, loading index pages one at a time.
    pub fn blocks(&self) -> impl Iterator<Item = Result<BlockEntry>> + '_ {
        (0..self.inner.summary.index_pages.len() as u32).flat_map(move |p| {
            let r: Vec<Result<BlockEntry>> = match self.inner.page(p) {
                Ok(page) => page.entries.iter().map(|e| Ok(*e)).collect(),
                Err(e) => vec![Err(e)],
            };
            r
        })
    }

    /// The root hash (`docs/FORMAT.md` §10): covers the header and, through the summary's
    /// frame hashes and the index's content hashes, every byte of the archive.
    pub fn root_hash(&self) -> [u8; 32] {
        self.inner.root_hash
    }

    /// The signature block, when the archive is signed. Parsed at open; checked only when
    /// opened with a `verify_key` or by [`crate::verify::verify`].
    pub fn signature(&self) -> Option<&Signature> {
        self.inner.signature.as_ref()
    }

    /// What this archive's reads have returned and decoded since it was opened.
    pub fn stats(&self) -> ReadStats {
        self.inner.stats.snapshot()
    }

    /// Bytes of decoded blocks held in the cache.
    pub fn cached_bytes(&self) -> usize {
        self.inner.blocks.bytes()
    }

    /// Changes the block cache's byte budget ([`ReadOptions::cache_bytes`]); a smaller one
    /// evicts the least recently used blocks now. For a reader whose needs change while the
    /// archive is open: a remote archive keeps many blocks decoded ahead while it fetches,
    /// and few once its disk cache holds all of it.
    pub fn set_cache_bytes(&self, bytes: usize) {
        self.inner.blocks.set_budget(bytes);
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl Inner {
    /// Global index of the block holding logical `offset`.
    pub(crate) fn block_index_at(&self, offset: u64) -> Result<u64> {
        self.entry_at(offset).map(|(idx, _)| idx)
    }

    /// The block holding logical `offset`: its global index and its entry (one page lookup).
    pub(crate) fn entry_at(&self, offset: u64) -> Result<(u64, BlockEntry)> {
        let s = &self.summary;
        if offset >= s.logical_size {
            return Err(Error::OutOfRange(format!(
                "offset {offset} is past the end ({})",
                s.logical_size
            )));
        }
        let p = s.index_pages.partition_point(|pg| pg.first <= offset) - 1;
        let page = self.page(p as u32)?;
        let i = page.starts.partition_point(|&start| start <= offset) - 1;
        Ok((
            p as u64 * s.entries_per_page as u64 + i as u64,
            page.entries[i],
        ))
    }

    pub(crate) fn block_entry(&self, idx: u64) -> Result<BlockEntry> {
        let per = self.summary.entries_per_page as u64;
        let page = self.page((idx / per) as u32)?;
        page.entries
            .get((idx % per) as usize)
            .copied()
            .ok_or_else(|| {
                Error::OutOfRange(format!("block {idx} of {}", self.summary.block_count))
            })
    }

    pub(crate) fn page(&self, p: u32) -> Result<Arc<Page>> {
        if let Some(pg) = self.pages.get(&p) {
            return Ok(pg);
        }
        let s = &self.summary;
        let pref = s
            .index_pages
            .get(p as usize)
            .ok_or_else(|| Error::OutOfRange(format!("index page {p}")))?;
        let raw = self.read_frame(&pref.frame, FrameKind::IndexPage)?;
        let encrypted = self.header.required.has(RequiredFeatures::ENCRYPTED);
        let entries =
            BlockEntry::parse_page(&raw, pref.first, self.footer.summary_offset, encrypted)
                .map_err(|e| Error::format(format!("{}: index page {p}", self.name), e))?;
        let end = entries
            .last()
            .map(|b| b.logical_offset + b.raw_len as u64)
            .unwrap_or(pref.first);
        let expected_end = s
            .index_pages
            .get(p as usize + 1)
            .map(|n| n.first)
            .unwrap_or(s.logical_size);
        if end != expected_end {
            return Err(Error::format(
                format!("{}: index page {p}", self.name),
                hexz_format::Error::Inconsistent(format!(
                    "page ends at {end}, next starts at {expected_end}"
                )),
            ));
        }
        if entries.iter().any(|b| b.parent.is_some()) {
            return Err(Error::Unsupported(
                "blocks stored in a parent archive (thin snapshots)".into(),
            ));
        }
        let pg = Arc::new(Page::new(entries));
        self.pages.insert(p, pg.clone());
        Ok(pg)
    }

    /// A table loaded whole on first use and kept in `slot`: empty when not `present`.
    fn table<T>(
        &self,
        slot: &Mutex<Option<Arc<[T]>>>,
        present: bool,
        frame: &FrameRef,
        kind: FrameKind,
        parse: impl FnOnce(&[u8]) -> hexz_format::Result<Vec<T>>,
    ) -> Result<Arc<[T]>> {
        let mut slot = slot.lock();
        if let Some(t) = &*slot {
            return Ok(t.clone());
        }
        let table: Arc<[T]> = if present {
            let raw = self.read_frame(frame, kind)?;
            parse(&raw)
                .map_err(|e| Error::format(format!("{}: {}", self.name, kind.name()), e))?
                .into()
        } else {
            Arc::from(Vec::new())
        };
        *slot = Some(table.clone());
        Ok(table)
    }

    pub(crate) fn read_frame(&self, f: &FrameRef, kind: FrameKind) -> Result<Vec<u8>> {
        let stored = read_stored(&*self.store, f)
            .map_err(|e| Error::io(format!("{}: reading {}", self.name, kind.name()), e))?;
        decode_frame(
            &stored,
            f,
            kind,
            &self.name,
            self.crypt.as_ref(),
            self.verify_hashes,
        )
    }

    /// The decoded bytes of block `idx`, from the cache or storage.
    pub(crate) fn load_block(&self, idx: u64, e: &BlockEntry) -> Result<Arc<[u8]>> {
        if let Some(b) = self.blocks.get(&BlockKey::of(e)) {
            return Ok(b);
        }
        let b = if e.codec == Codec::Zero {
            zeroed_shared(e.raw_len as usize)
        } else {
            let mut stored = vec![0u8; e.stored_len as usize];
            self.store
                .read_exact_at(e.stored_offset, &mut stored)
                .map_err(|err| Error::io(format!("{}: reading block {idx}", self.name), err))?;
            self.decode_block_shared(idx, e, &stored)?
        };
        self.blocks.insert(BlockKey::of(e), b.clone());
        Ok(b)
    }

    /// Decodes blocks `run` into the cache (read-ahead), fetching their stored bytes with as
    /// few reads as [`coalesce`] allows. Holes and cached blocks are skipped.
    pub(crate) fn load_run(&self, run: std::ops::Range<u64>) -> Result<()> {
        let mut todo = Vec::new();
        for idx in run {
            let e = self.block_entry(idx)?;
            if e.codec != Codec::Zero && !self.blocks.contains(&BlockKey::of(&e)) {
                todo.push((idx, e));
            }
        }
        if let [(idx, e)] = todo.as_slice() {
            return self.load_block(*idx, e).map(drop);
        }
        let ranges = coalesce(
            todo.iter()
                .map(|(_, e)| (e.stored_offset, e.stored_len as u64)),
        );
        let reqs: Vec<(u64, usize)> = ranges.iter().map(|&(o, l)| (o, l as usize)).collect();
        let bufs = self
            .store
            .read_ranges(&reqs)
            .map_err(|err| Error::io(format!("{}: reading ahead", self.name), err))?;
        for (idx, e) in todo {
            let out = self.decode_block_shared(idx, &e, stored_in(&ranges, &bufs, &e))?;
            self.blocks.insert(BlockKey::of(&e), out);
        }
        Ok(())
    }

    fn block_name(&self, idx: u64, e: &BlockEntry) -> String {
        format!(
            "block {idx} (logical offset {}) of {}",
            e.logical_offset, self.name
        )
    }

    fn check_crc(&self, idx: u64, e: &BlockEntry, stored: &[u8]) -> Result<()> {
        let crc = hexz_format::crc32c(stored);
        if crc != e.crc {
            return Err(Error::Integrity {
                what: self.block_name(idx, e),
                detail: format!("crc32c mismatch: {crc:#010x}, index says {:#010x}", e.crc),
            });
        }
        Ok(())
    }

    fn check_hash(&self, idx: u64, e: &BlockEntry, raw: &[u8]) -> Result<()> {
        if self.verify_hashes {
            self.check_content_hash(idx, e, content_hash(self.crypt.as_ref(), raw))?;
        }
        Ok(())
    }

    /// The content hash of `len` zero bytes (keyed when encrypted), computed once per length.
    fn zero_hash(&self, len: u32) -> [u8; 32] {
        let Some(c) = &self.crypt else {
            return zero_hash(len);
        };
        if let Some(h) = self.zero_hashes.lock().get(&len) {
            return *h;
        }
        let h = c.content_hash(&vec![0u8; len as usize]);
        self.zero_hashes.lock().insert(len, h);
        h
    }

    /// Decrypts a block's sealed stored bytes (the compressed bytes), checking the tag.
    fn open_block(
        &self,
        c: &Crypt,
        idx: u64,
        e: &BlockEntry,
        stored: &[u8],
        out: Option<&mut [u8]>,
    ) -> Result<Vec<u8>> {
        let what = || self.block_name(idx, e);
        match out {
            Some(out) => c.open_block(e, stored, out, &what).map(|_| Vec::new()),
            None => {
                let n = stored
                    .len()
                    .saturating_sub(hexz_format::limits::AEAD_TAG_LEN as usize);
                let mut plain = vec![0u8; n];
                c.open_block(e, stored, &mut plain, &what)?;
                Ok(plain)
            }
        }
    }

    fn check_content_hash(&self, idx: u64, e: &BlockEntry, hash: [u8; 32]) -> Result<()> {
        if hash != e.hash {
            return Err(Error::Integrity {
                what: self.block_name(idx, e),
                detail: "content hash mismatch".into(),
            });
        }
        Ok(())
    }

    /// Checks a block stored raw (stored bytes = raw bytes).
    pub(crate) fn check_block(&self, idx: u64, e: &BlockEntry, bytes: &[u8]) -> Result<()> {
        self.check_crc(idx, e, bytes)?;
        self.check_hash(idx, e, bytes)
    }

    /// Reads block `idx` and checks everything about it: crc32c, decoded length and content
    /// hash, whatever `verify_hashes` says. Holes cost no read and no hashing.
    pub(crate) fn verify_block(&self, idx: u64, e: &BlockEntry) -> Result<()> {
        let hash = if e.codec == Codec::Zero {
            self.zero_hash(e.raw_len)
        } else {
            let mut stored = vec![0u8; e.stored_len as usize];
            self.store
                .read_exact_at(e.stored_offset, &mut stored)
                .map_err(|err| Error::io(format!("{}: reading block {idx}", self.name), err))?;
            content_hash(self.crypt.as_ref(), &self.decode_unhashed(idx, e, stored)?)
        };
        self.check_content_hash(idx, e, hash)
    }

    /// Decodes block `idx` into a new buffer that the cache and readers share, checking it as
    /// [`Self::decode_block`] does. Decoding straight into the shared allocation saves a copy.
    fn decode_block_shared(&self, idx: u64, e: &BlockEntry, stored: &[u8]) -> Result<Arc<[u8]>> {
        let mut out = zeroed_shared(e.raw_len as usize);
        let dst = Arc::get_mut(&mut out).expect("a new Arc has no other owner");
        self.decode_block(idx, e, stored, dst)?;
        Ok(out)
    }

    /// Decodes a block into a new vector, checking its crc32c and length but not its content
    /// hash (the caller hashes it); a raw block's stored bytes are the result.
    fn decode_unhashed(&self, idx: u64, e: &BlockEntry, stored: Vec<u8>) -> Result<Vec<u8>> {
        self.check_crc(idx, e, &stored)?;
        let stored = match &self.crypt {
            Some(c) => self.open_block(c, idx, e, &stored, None)?,
            None => stored,
        };
        let out = match e.codec {
            Codec::None => stored,
            codec => crate::codec::decode_to_vec(codec, &stored, e.raw_len as usize, &|| {
                self.block_name(idx, e)
            })?,
        };
        if out.len() != e.raw_len as usize {
            return Err(Error::Integrity {
                what: self.block_name(idx, e),
                detail: format!("decoded {} bytes, index says {}", out.len(), e.raw_len),
            });
        }
        Ok(out)
    }

    pub(crate) fn decode_block(
        &self,
        idx: u64,
        e: &BlockEntry,
        stored: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        self.check_crc(idx, e, stored)?;
        self.stats.decoded(e.raw_len);
        match &self.crypt {
            // Stored raw: decrypt straight into the destination.
            Some(c) if e.codec == Codec::None => {
                self.open_block(c, idx, e, stored, Some(out))?;
            }
            Some(c) => {
                let plain = self.open_block(c, idx, e, stored, None)?;
                decode_into(e.codec, &plain, out, &|| self.block_name(idx, e))?;
            }
            None => decode_into(e.codec, stored, out, &|| self.block_name(idx, e))?,
        }
        self.check_hash(idx, e, out)
    }

    fn read_exact(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let n = self.read_at(offset, buf)?;
        if n != buf.len() {
            return Err(Error::OutOfRange(format!(
                "range {offset}+{} is past the end of the stream ({} bytes)",
                buf.len(),
                self.summary.logical_size
            )));
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let s = &self.summary;
        if offset >= s.logical_size || buf.is_empty() {
            return Ok(0);
        }
        let n = (s.logical_size - offset).min(buf.len() as u64) as usize;
        self.stats.returned(n);
        let end = offset + n as u64;
        let mut pending: Vec<(u64, BlockEntry, &mut [u8], usize)> = Vec::new();
        let mut rest = &mut buf[..n];
        let (mut idx, first) = self.entry_at(offset)?;
        let mut next = Some(first);
        let mut pos = offset;
        while pos < end {
            let e = match next.take() {
                Some(e) => e,
                None => self.block_entry(idx)?,
            };
            let skip = (pos - e.logical_offset) as usize;
            let take = ((e.raw_len as usize) - skip).min((end - pos) as usize);
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(take);
            rest = tail;
            if e.codec == Codec::Zero {
                dst.fill(0);
            } else if let Some(b) = self.blocks.get(&BlockKey::of(&e)) {
                dst.copy_from_slice(&b[skip..skip + take]);
            } else {
                pending.push((idx, e, dst, skip));
            }
            pos += take as u64;
            idx += 1;
        }
        if pending.is_empty() {
            return Ok(n);
        }
        // Blocks that read-ahead is fetching right now: wait for them rather than fetch twice.
        if self.in_flight.wait_for(pending.iter().map(|p| p.0)) {
            pending.retain_mut(
                |(_, e, dst, skip)| match self.blocks.get(&BlockKey::of(e)) {
                    Some(b) => {
                        dst.copy_from_slice(&b[*skip..*skip + dst.len()]);
                        false
                    }
                    None => true,
                },
            );
            if pending.is_empty() {
                return Ok(n);
            }
        }
        // A remote store whose disk cache holds all of it is read like a local file.
        let remote = self.store.is_remote() && !self.store.all_local();
        // Raw blocks wholly inside the caller's buffer are read straight into it: no staging
        // buffer, no copy. The rest are fetched in coalesced ranges and decoded.
        // (Not from a remote store, where one coalesced request beats one per block, and not
        // when encrypted, where stored bytes are ciphertext.)
        let plain = self.crypt.is_none();
        let (mut direct, mut pending): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(_, e, dst, skip)| {
                plain
                    && !remote
                    && e.codec == Codec::None
                    && *skip == 0
                    && dst.len() == e.raw_len as usize
            });
        let read_direct =
            |(idx, e, dst, _): &mut (u64, BlockEntry, &mut [u8], usize)| -> Result<()> {
                self.store
                    .read_exact_at(e.stored_offset, dst)
                    .map_err(|err| Error::io(format!("{}: reading block {idx}", self.name), err))?;
                self.stats.decoded(e.raw_len);
                self.check_block(*idx, e, dst)
            };
        if direct.len() > 1 && crate::fork::parallel_ok() {
            direct.par_iter_mut().try_for_each(read_direct)?;
        } else {
            direct.iter_mut().try_for_each(read_direct)?;
        }
        if pending.is_empty() {
            return Ok(n);
        }
        let small = pending.len() <= 2;
        let ranges = coalesce(
            pending
                .iter()
                .map(|p| (p.1.stored_offset, p.1.stored_len as u64)),
        );
        let reqs: Vec<(u64, usize)> = ranges.iter().map(|&(o, l)| (o, l as usize)).collect();
        let bufs = self
            .store
            .read_ranges(&reqs)
            .map_err(|e| Error::io(format!("{}: reading blocks at {offset}", self.name), e))?;
        let work = |(idx, e, dst, skip): &mut (u64, BlockEntry, &mut [u8], usize)| -> Result<()> {
            let stored = stored_in(&ranges, &bufs, e);
            if *skip == 0 && dst.len() == e.raw_len as usize {
                self.decode_block(*idx, e, stored, dst)?;
                // A whole block read from a local store is not kept: a shuffled reader of
                // record-aligned blocks would only churn the cache. On a remote store the copy
                // is cheap next to the round trip it saves.
                if remote {
                    self.blocks.insert(BlockKey::of(e), Arc::from(&**dst));
                }
            } else {
                let full = self.decode_block_shared(*idx, e, stored)?;
                dst.copy_from_slice(&full[*skip..*skip + dst.len()]);
                self.blocks.insert(BlockKey::of(e), full);
            }
            Ok(())
        };
        if small || !crate::fork::parallel_ok() {
            pending.iter_mut().try_for_each(work)?;
        } else {
            pending.par_iter_mut().try_for_each(work)?;
        }
        Ok(n)
    }
}

/// A zero-filled shared buffer of `len` bytes, allocated once (no copy from a `Vec`).
fn zeroed_shared(len: usize) -> Arc<[u8]> {
    let mut buf = Arc::<[u8]>::new_uninit_slice(len);
    let slots = Arc::get_mut(&mut buf).expect("a new Arc has no other owner");
    slots.fill(std::mem::MaybeUninit::new(0));
    // SAFETY: every byte was initialised just above.
    unsafe { buf.assume_init() }
}

/// The stored bytes of block `e` among `bufs`, the contents of the coalesced `ranges`.
fn stored_in<'a>(ranges: &[(u64, u64)], bufs: &'a [Vec<u8>], e: &BlockEntry) -> &'a [u8] {
    let r = ranges.partition_point(|&(o, _)| o <= e.stored_offset) - 1;
    let start = (e.stored_offset - ranges[r].0) as usize;
    &bufs[r][start..start + e.stored_len as usize]
}

/// Merges `(offset, len)` ranges sorted by offset that lie close together.
fn coalesce(ranges: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut sorted: Vec<(u64, u64)> = ranges.collect();
    sorted.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (o, l) in sorted {
        if let Some(last) = out.last_mut() {
            let last_end = last.0 + last.1;
            if o <= last_end + COALESCE_GAP && (o + l).max(last_end) - last.0 <= COALESCE_MAX {
                last.1 = (o + l).max(last_end) - last.0;
                continue;
            }
        }
        out.push((o, l));
    }
    out
}

fn read_stored(store: &dyn ReadAt, f: &FrameRef) -> std::io::Result<Vec<u8>> {
    let mut stored = vec![0u8; f.stored_len as usize];
    store.read_exact_at(f.offset, &mut stored)?;
    Ok(stored)
}

fn decode_frame(
    stored: &[u8],
    f: &FrameRef,
    kind: FrameKind,
    name: &str,
    crypt: Option<&Crypt>,
    check_hash: bool,
) -> Result<Vec<u8>> {
    let what = || format!("{} of {name}", kind.name());
    let crc = hexz_format::crc32c(stored);
    if crc != f.crc {
        return Err(Error::Integrity {
            what: what(),
            detail: format!("crc32c {crc:#010x}, expected {:#010x}", f.crc),
        });
    }
    if check_hash && *blake3::hash(stored).as_bytes() != f.hash {
        return Err(Error::Integrity {
            what: what(),
            detail: "BLAKE3 hash does not match the summary's".into(),
        });
    }
    let codec = f.codec().map_err(|e| Error::format(what(), e))?;
    let mut raw = vec![0u8; f.raw_len as usize];
    match crypt {
        Some(c) => {
            let plain = c.open_frame(f.offset, f.raw_len, f.codec, kind, stored, &what)?;
            decode_into(codec, &plain, &mut raw, &what)?;
        }
        None => decode_into(codec, stored, &mut raw, &what)?,
    }
    Ok(raw)
}

/// BLAKE3 of `len` zero bytes, computed once per length: holes cost nothing to verify.
fn zero_hash(len: u32) -> [u8; 32] {
    type Hashes = Mutex<std::collections::HashMap<u32, [u8; 32]>>;
    static HASHES: std::sync::OnceLock<Hashes> = std::sync::OnceLock::new();
    let map = HASHES.get_or_init(Default::default);
    if let Some(h) = map.lock().get(&len) {
        return *h;
    }
    let h = *blake3::hash(&vec![0u8; len as usize]).as_bytes();
    map.lock().insert(len, h);
    h
}

#[cfg(test)]
mod tests {
    use super::coalesce;

    #[test]
    fn coalesces_near_ranges() {
        let r = coalesce([(0u64, 10u64), (10, 10), (100_000_000, 5), (25, 5)].into_iter());
        assert_eq!(r, vec![(0, 30), (100_000_000, 5)]);
    }
}
