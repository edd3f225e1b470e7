//! Writing archives: [`ArchiveWriter`].

/// File attributes, device nodes, FIFOs, sockets and hard links (`docs/FORMAT.md` §7.6).
mod attrs;
/// What a local file system says about an entry beyond mode and mtime (unix).
mod capture;
/// How the stream is cut into blocks: fixed sizes, or content-defined chunks (FastCDC).
mod chunking;
/// Finishing an archive: the tables, summary, signature and footer, and the commit.
mod finish;
/// Writing bytes and frames to the sink.
mod frame;
/// The compression threads, their jobs and results, and batches of small blocks.
mod jobs;
/// What a write is told ([`WriteOptions`], [`EntryMeta`]) and what it reports.
mod options;
/// The block pipeline: cutting blocks, sending them to the compression threads, writing
/// them in order (deduplicated, sealed) and their index pages.
mod pipeline;
/// Record groups and records, and their record pages.
mod records;
/// Adding files, directory trees, streams and links as entries.
mod sources;
/// Thin archives: the parent's blocks by content hash, and the parents table.
mod thin;

pub use chunking::{CdcSizes, Chunking};
pub use options::{meta_of, EntryMeta, ThinParent, WriteOptions, WriteReport};
pub use thin::recorded_location;

use crate::codec::Compression;
use crate::crypt::{prepare_writer, Crypt};
use crate::sink::{FileSink, Sink};
use crate::{Action, Error, Part, Place, Result};
use crossbeam_channel::Sender;
use hexz_format::header::{Cipher, Header, Kdf};
use hexz_format::{
    BlockEntry, Codec, Entry, FileAttrs, OptionalFeatures, PageRef, Record, RecordGroup,
    RequiredFeatures,
};
use jobs::{spawn_compressors, Batch, Done, Job, Results};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Most compression threads a writer accepts.
pub const MAX_THREADS: usize = 1024;
/// Default [`WriteOptions::entries_per_page`].
pub const DEFAULT_ENTRIES_PER_PAGE: u32 = 4096;
/// Records per record page.
const RECORDS_PER_PAGE: u32 = 4096;
/// Default [`WriteOptions::record_block_min`]: a 4–16 KB sample gets a block of its own.
pub const DEFAULT_RECORD_BLOCK_MIN: u32 = 4096;

type Progress = Box<dyn FnMut(u64) + Send>;

/// Builds an archive: add entries, records and metadata, then [`ArchiveWriter::finish`].
///
/// Blocks are compressed on worker threads with a bounded queue, and written in logical order;
/// nothing is visible at the destination until `finish` commits the sink.
pub struct ArchiveWriter {
    sink: Box<dyn Sink>,
    /// Bytes written to the sink so far: the file offset of the next write.
    pos: u64,
    opts: WriteOptions,
    // The block pipeline (pipeline.rs): the block being filled (with content-defined
    // chunking, the bytes not cut yet), whether it holds records (never cut inside), ...
    block: Vec<u8>,
    block_has_records: bool,
    /// Where sources are read into (allocated on first use, then kept).
    read_buf: Vec<u8>,
    logical: u64,
    // ... the compression threads and the order their results are written in, ...
    next_seq: u64,
    next_emit: u64,
    jobs: Option<Sender<Job>>,
    results: Results,
    workers: Vec<JoinHandle<()>>,
    reorder: BTreeMap<u64, Vec<Done>>,
    /// Small blocks gathered to go to the compression threads as one job.
    batch: Batch,
    crypt: Option<Arc<Crypt>>,
    /// ... the parent of a thin archive, by content hash,
    parent: Option<Arc<thin::ParentIndex>>,
    /// ... where each content hash was stored (stored offset, length, codec, crc), for dedup,
    seen: HashMap<[u8; 32], (u64, u32, Codec, u32)>,
    // ... and the index: the page being filled and those written.
    page: Vec<BlockEntry>,
    index_pages: Vec<PageRef>,
    block_count: u64,
    // Entries (sources.rs), records (records.rs) and metadata, written at the end.
    entries: Vec<Entry>,
    /// Each entry's path and its place in `entries` (which `finish` sorts).
    paths: HashMap<String, usize>,
    records: Vec<Record>,
    record_pages: Vec<PageRef>,
    record_count: u64,
    groups: Vec<RecordGroup>,
    metadata: Option<Vec<u8>>,
    /// File attributes by entry path (attrs.rs), written as extension type 1 at the end.
    attrs: HashMap<String, FileAttrs>,
    /// Hard-link groups handed out so far.
    link_groups: u64,
    report: WriteReport,
    stored_bytes: u64,
    progress: Option<Progress>,
    added: u64,
    /// The header as written: the root hash of a signed archive covers it.
    #[cfg_attr(not(feature = "signing"), allow(dead_code))]
    header: [u8; hexz_format::header::HEADER_LEN],
}

impl ArchiveWriter {
    /// Creates an archive at `path`, written atomically on [`finish`](Self::finish).
    pub fn create(path: impl AsRef<Path>, opts: WriteOptions) -> Result<ArchiveWriter> {
        let path = path.as_ref();
        let sink = FileSink::create(path)
            .map_err(|e| Error::io(Action::Create, Place::whole(path.display().to_string()), e))?;
        Self::with_sink(Box::new(sink), opts)
    }

    /// Writes an archive to any sink.
    pub fn with_sink(mut sink: Box<dyn Sink>, mut opts: WriteOptions) -> Result<ArchiveWriter> {
        let bs = opts.block_size;
        if !(hexz_format::limits::MIN_BLOCK_SIZE..=hexz_format::limits::MAX_BLOCK_SIZE)
            .contains(&bs)
            || !bs.is_power_of_two()
        {
            return Err(Error::InvalidInput(format!(
                "block size {bs} must be a power of two from 4 KiB to 16 MiB"
            )));
        }
        let max_entry_rows = hexz_format::entry_pages::MAX_ROWS_PER_PAGE;
        if !(1..=max_entry_rows).contains(&opts.entry_page_rows) {
            return Err(Error::InvalidInput(format!(
                "entry rows per page {} must be from 1 to {max_entry_rows}",
                opts.entry_page_rows
            )));
        }
        let max_dir = hexz_format::page_directory::MAX_PAGES_PER_DIRECTORY;
        if !(1..=max_dir).contains(&opts.pages_per_directory) {
            return Err(Error::InvalidInput(format!(
                "pages per directory frame {} must be from 1 to {max_dir}",
                opts.pages_per_directory
            )));
        }
        let max_rows = hexz_format::limits::MAX_ROWS_PER_PAGE;
        if !(1..=max_rows).contains(&opts.entries_per_page) {
            return Err(Error::InvalidInput(format!(
                "entries per page {} must be from 1 to {max_rows}",
                opts.entries_per_page
            )));
        }
        let mut required = 0;
        if matches!(opts.compression, Compression::Zstd(_)) {
            required |= RequiredFeatures::ZSTD;
        }
        let parent = match opts.parent.take() {
            Some(p) => {
                required |= RequiredFeatures::THIN;
                let encrypted = opts.encryption.is_some();
                Some(Arc::new(thin::ParentIndex::build(p, encrypted)?))
            }
            None => None,
        };
        let mut optional = 0;
        if opts.dedup {
            optional |= OptionalFeatures::DEDUP;
        }
        if let Chunking::Cdc(sizes) = opts.chunking {
            sizes.check()?;
            optional |= OptionalFeatures::CDC;
        }
        let archive_id = opts.archive_id.unwrap_or_else(rand::random);
        // The key leaves the options here and is zeroized once the archive keys are derived.
        let (cipher, kdf, key_check, pending) = match &opts.encryption.take() {
            None => (Cipher::None, Kdf::None, [0; 16], None),
            Some(enc) => {
                if opts.archive_id.is_some() {
                    // Nonces are file offsets: only a fresh archive id keeps two archives
                    // under one raw key from sharing a key and nonces.
                    return Err(Error::InvalidInput(
                        "a fixed archive id cannot be used with encryption".into(),
                    ));
                }
                let (hc, pending) = prepare_writer(enc, archive_id)?;
                required |= RequiredFeatures::ENCRYPTED;
                (Cipher::Aes256Gcm, hc.kdf, hc.key_check, Some(pending))
            }
        };
        let header = Header {
            version: hexz_format::VERSION,
            block_size: bs,
            required: RequiredFeatures(required),
            optional: OptionalFeatures(optional),
            archive_id,
            cipher,
            kdf,
            key_check,
        };
        let bytes = header.encode();
        let crypt = pending.map(|p| Arc::new(p.finish(bytes)));
        sink.write_all(&bytes)
            .map_err(|e| Error::io(Action::Write, Place::new(sink.describe(), Part::Header), e))?;
        if opts.threads > MAX_THREADS {
            return Err(Error::InvalidInput(format!(
                "{} compression threads is more than the {MAX_THREADS} allowed",
                opts.threads
            )));
        }
        let threads = match opts.threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        };
        let (jobs, results, workers) =
            spawn_compressors(threads, opts.compression, crypt.as_ref(), parent.as_ref())?;
        Ok(ArchiveWriter {
            sink,
            pos: bytes.len() as u64,
            block: Vec::with_capacity(bs as usize),
            read_buf: Vec::new(),
            block_has_records: false,
            opts,
            logical: 0,
            next_seq: 0,
            next_emit: 0,
            jobs: Some(jobs),
            results,
            workers,
            reorder: BTreeMap::new(),
            batch: Batch::default(),
            crypt,
            parent,
            seen: HashMap::new(),
            page: Vec::new(),
            index_pages: Vec::new(),
            block_count: 0,
            entries: Vec::new(),
            paths: HashMap::new(),
            records: Vec::new(),
            record_pages: Vec::new(),
            record_count: 0,
            groups: Vec::new(),
            metadata: None,
            attrs: HashMap::new(),
            link_groups: 0,
            report: WriteReport::default(),
            stored_bytes: 0,
            progress: None,
            added: 0,
            header: bytes,
        })
    }

    /// Calls `f` with the number of source bytes consumed so far, as data is added.
    pub fn on_progress(&mut self, f: impl FnMut(u64) + Send + 'static) {
        self.progress = Some(Box::new(f));
    }

    /// Bytes of the logical stream so far.
    pub fn logical_size(&self) -> u64 {
        self.logical
    }

    /// Sets the user metadata; must be a JSON object.
    pub fn set_metadata(&mut self, json: &[u8]) -> Result<()> {
        crate::metadata::check(json).map_err(Error::InvalidInput)?;
        self.metadata = Some(json.to_vec());
        Ok(())
    }
}
