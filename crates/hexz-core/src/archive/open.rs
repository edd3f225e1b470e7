//! Opening an archive: the header and its key, the footer and summary at the file's tail, the
//! signature, and the caches and read-ahead threads an open archive keeps.

use super::frame::{decode_frame, Frame};
use super::held::{Held, HeldMetadata, Reopen};
use super::index::{Page, RecordPage, MAX_PAGE_ENTRIES, PAGE_CACHE_MIN};
use super::parents::{open_parents, Child, ParentOpener};
use super::{Archive, ArchiveState};
use crate::cache::Cache;
use crate::crypt::{Crypt, KeySource};
use crate::prefetch::{InFlight, Prefetcher};
use crate::stats::Counters;
use crate::store::{FileStore, ReadAt};
use crate::{Action, Error, Part, Place, Result};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::signature::Signature;
use hexz_format::{Codec, Footer, FrameKind, FrameRef, Header, RequiredFeatures, Summary};
use parking_lot::Mutex;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// How much of the file's tail is read at open, to get footer and summary in one request.
const TAIL_READ: u64 = 64 * 1024;

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
    /// Metadata bytes another process read of the same archive ([`Archive::reopen_state`]),
    /// served without a request to the store.
    pub held: HeldMetadata,
    /// Where the parents of a thin archive are, in the order of its parents table,
    /// overriding the locations it records (archives move: `--parent-path`).
    pub parent_paths: Vec<String>,
    /// Opens a parent of a thin archive (see [`ParentOpener`]); `None`: parents are local
    /// files.
    pub open_parent: Option<ParentOpener>,
    /// What reopens each parent of a thin archive with no request to its store, in the
    /// order of its parents table ([`crate::Reopen::parents`] of the same archive).
    pub parent_reopen: Vec<Reopen>,
    /// How deep in a chain of thin archives this one is opened: 0 for the archive asked for,
    /// one more for each parent; past [`crate::MAX_CHAIN_DEPTH`] opening is refused.
    pub chain_depth: u8,
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
            held: HeldMetadata::default(),
            parent_paths: Vec::new(),
            open_parent: None,
            parent_reopen: Vec::new(),
            chain_depth: 0,
        }
    }
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
    f | RequiredFeatures::THIN
}

/// Reads and parses the header of the archive in `store` (128 bytes), without a key and
/// without checking that this build supports its features: for tools that only describe an
/// archive (is it encrypted, with which KDF) or serve its bytes.
pub fn read_header(store: &dyn ReadAt) -> Result<Header> {
    read_head(store, &store.describe()).map(|(_, header)| header)
}

/// The header's bytes (the key check and the root hash cover them) and the parsed header.
fn read_head(store: &dyn ReadAt, name: &str) -> Result<([u8; HEADER_LEN], Header)> {
    parse_head(store_read(store, 0, HEADER_LEN), name)
}

fn store_read(store: &dyn ReadAt, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    store.read_exact_at(offset, &mut bytes).map(|()| bytes)
}

fn parse_head(read: std::io::Result<Vec<u8>>, name: &str) -> Result<([u8; HEADER_LEN], Header)> {
    let head: [u8; HEADER_LEN] = read
        .map_err(|e| Error::io(Action::Read, Place::new(name, Part::Header), e))?
        .try_into()
        .map_err(|_| Error::InvalidInput(format!("{name}: short header read")))?;
    let header = Header::parse(&head, RequiredFeatures::KNOWN)
        .map_err(|e| Error::format(Place::new(name, Part::Header), e))?;
    Ok((head, header))
}

/// §4: codec 2 (Zstd) is allowed only in an archive whose header sets `ZSTD`, so a reader
/// built without Zstd refuses such an archive at open rather than at some later read.
pub(super) fn check_codec(header: &Header, codec: u8, place: impl FnOnce() -> Place) -> Result<()> {
    if codec == Codec::Zstd.id() && !header.required.has(RequiredFeatures::ZSTD) {
        return Err(Error::format(
            place(),
            hexz_format::Error::Inconsistent(
                "codec 2 (zstd) in an archive whose header does not set the ZSTD feature bit"
                    .into(),
            ),
        ));
    }
    Ok(())
}

/// The keys of an encrypted archive, checked against the header. Refuses an encrypted archive
/// without a key, and a key for an archive that is not encrypted.
fn keys_for(
    header: &Header,
    head: [u8; HEADER_LEN],
    key: Option<&KeySource>,
    name: &str,
) -> Result<Option<Crypt>> {
    match (header.required.has(RequiredFeatures::ENCRYPTED), key) {
        (true, Some(key)) => Ok(Some(Crypt::for_reading(header, head, key, name)?)),
        (true, None) => Err(Error::KeyRequired(format!(
            "{name} is encrypted: a key or passphrase is needed to open it"
        ))),
        (false, Some(_)) => Err(Error::NotEncrypted(format!(
            "{name} is not encrypted, but a key was given: refusing to read an \
             unauthenticated archive as if it were protected (open it without a key)"
        ))),
        (false, None) => Ok(None),
    }
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
        .map_err(|e| Error::io(Action::Open, Place::whole(path.display().to_string()), e))?;
        Self::open_store(Arc::new(store), opts)
    }

    /// Opens an archive over any storage. Reads the header and the file's tail only.
    pub fn open_store(store: Arc<dyn ReadAt>, mut opts: ReadOptions) -> Result<Archive> {
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
            .map_err(|e| Error::io(Action::Stat, Place::whole(&name), e))?;
        let min = (HEADER_LEN + FOOTER_LEN) as u64;
        if file_len < min {
            return Err(Error::format(
                Place::whole(name),
                hexz_format::Error::Truncated {
                    what: "archive",
                    need: min,
                    have: file_len,
                },
            ));
        }
        let place = |part: Part| Place::new(&name, part);
        let held = Held::new(std::mem::take(&mut opts.held), store.is_remote());
        let (head, header) = parse_head(held.read(&*store, 0, HEADER_LEN), &name)?;
        let missing = header.required.0 & !supported_features();
        if missing != 0 {
            let names = RequiredFeatures(missing).names().join(", ");
            return Err(Error::Unsupported(format!(
                "{name} requires {names}, which this build of hexz does not support"
            )));
        }
        // The key is checked before anything else is read: a wrong key or passphrase fails
        // here, before any block or frame is decrypted.
        let crypt = keys_for(&header, head, opts.key.as_ref(), &name)?;
        let tail_len = TAIL_READ.min(file_len - HEADER_LEN as u64);
        let tail_start = file_len - tail_len;
        let tail = held
            .read(&*store, tail_start, tail_len as usize)
            .map_err(|e| Error::io(Action::Read, place(Part::Footer), e))?;
        let footer =
            Footer::parse(&tail, file_len).map_err(|e| Error::format(place(Part::Footer), e))?;
        if footer.version != header.version {
            return Err(Error::format(
                place(Part::Footer),
                hexz_format::Error::Inconsistent(format!(
                    "the header says format version {}, the footer {}",
                    header.version, footer.version
                )),
            ));
        }
        let sref = FrameRef {
            offset: footer.summary_offset,
            stored_len: footer.summary_stored_len,
            raw_len: footer.summary_raw_len,
            codec: footer.summary_codec.id(),
            crc: footer.summary_crc,
            hash: [0; 32],
        };
        let encrypted = header.required.has(RequiredFeatures::ENCRYPTED);
        let summary_frame = Part::Frame {
            kind: FrameKind::Summary.name(),
            offset: footer.summary_offset,
        };
        sref.validate(
            FrameKind::Summary,
            footer.summary_offset + footer.summary_stored_len as u64,
            encrypted,
        )
        .map_err(|e| Error::format(place(summary_frame), e))?;
        let stored = if footer.summary_offset >= tail_start {
            let s = (footer.summary_offset - tail_start) as usize;
            tail[s..s + footer.summary_stored_len as usize].to_vec()
        } else {
            held.read(&*store, sref.offset, sref.stored_len as usize)
                .map_err(|e| Error::io(Action::Read, place(summary_frame), e))?
        };
        let root_hash = crate::sign::root_hash(&head, &stored);
        let signature = match footer.signature_offset {
            // A v2 block of an algorithm this build does not know reads as unsigned for what
            // it can check (`verify` says so); with a public key, that is `NotSigned`.
            Some(at) => {
                let s = (at - tail_start) as usize;
                Signature::parse(&tail[s..tail.len() - FOOTER_LEN], header.version)
                    .map_err(|e| Error::format(place(Part::Signature), e))?
            }
            None => None,
        };
        #[cfg(feature = "signing")]
        if let Some(key) = &opts.verify_key {
            let Some(sig) = &signature else {
                if footer.signature_offset.is_some() {
                    return Err(Error::Unsupported(format!(
                        "{name} is signed with an algorithm this build of hexz does not know, \
                         so the public key given cannot verify it"
                    )));
                }
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
        check_codec(&header, sref.codec, || place(summary_frame))?;
        let summary_ref = Frame {
            f: &sref,
            kind: FrameKind::Summary,
            label: FrameKind::Summary.name(),
        };
        let raw = decode_frame(&stored, summary_ref, &name, crypt.as_ref(), false)?;
        let summary = Summary::parse(&raw, footer.summary_offset, encrypted, header.version)
            .map_err(|e| match e {
                // §7.5: the archive needs what this build cannot read; it is not corrupt.
                hexz_format::Error::UnknownCriticalExtension { kind } => {
                    Error::Unsupported(format!(
                        "{name} needs extension type {kind}, which this build of hexz does not \
                         know"
                    ))
                }
                e => Error::format(place(summary_frame), e),
            })?;
        for f in summary.frames() {
            let part = Part::Frame {
                kind: f.kind.name(),
                offset: f.frame.offset,
            };
            check_codec(&header, f.frame.codec, || place(part))?;
        }
        let parents = if header.required.has(RequiredFeatures::THIN) {
            let child = Child {
                store: &*store,
                held: &held,
                summary: &summary,
                name: &name,
                crypt: crypt.as_ref(),
                verify_hashes,
            };
            open_parents(child, &opts)?
        } else {
            Vec::new()
        };
        let block_size = header.block_size as usize;
        let state = Arc::new(ArchiveState {
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
            page_dirs: Default::default(),
            parents,
            entries: Mutex::new(None),
            held,
            groups: Mutex::new(None),
            attrs: Mutex::new(None),
            entry_dir: Mutex::new(None),
            last_entry_page: Mutex::new(None),
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
        let block_size = state.header.block_size.max(1) as usize;
        let (threads, blocks, run) = if state.store.is_remote() && opts.readahead_threads > 0 {
            (
                opts.readahead_threads.max(REMOTE_READAHEAD_THREADS),
                opts.readahead_blocks
                    .max(REMOTE_READAHEAD_BYTES / block_size),
                REMOTE_RUN_BYTES,
            )
        } else {
            (opts.readahead_threads, opts.readahead_blocks, 0)
        };
        let prefetch = (threads > 0 && blocks > 0).then(|| {
            // Read-ahead sees the state only as a block source (no import cycle), and weakly:
            // its threads end with the archive.
            let source = Arc::downgrade(&state);
            Prefetcher::new(source, threads, run)
        });
        Ok(Archive {
            state,
            prefetch,
            readahead_blocks: blocks.min(MAX_READAHEAD_BLOCKS),
        })
    }
}
