//! Writing archives: [`ArchiveWriter`].

use crate::codec::Compression;
use crate::crypt::{content_hash, prepare_writer, Crypt, Encryption};
use crate::sink::{FileSink, Sink};
use crate::{Error, Result};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use hexz_format::entry::{check_path, encode_entries};
use hexz_format::footer::Footer;
use hexz_format::frame::FrameRef;
use hexz_format::header::{Cipher, Header, Kdf};
use hexz_format::record::{encode_groups, encode_records};
use hexz_format::{
    BlockEntry, Codec, DType, Entry, EntryKind, FrameKind, OptionalFeatures, PageRef, Record,
    RecordGroup, RequiredFeatures, Summary,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::UNIX_EPOCH;

/// Most compression threads a writer accepts.
pub const MAX_THREADS: usize = 1024;
/// Default [`WriteOptions::entries_per_page`].
pub const DEFAULT_ENTRIES_PER_PAGE: u32 = 4096;
/// Records per record page.
const RECORDS_PER_PAGE: u32 = 4096;
/// Default [`WriteOptions::record_block_min`]: a 4–16 KB sample gets a block of its own.
pub const DEFAULT_RECORD_BLOCK_MIN: u32 = 4096;

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
    /// Entries written.
    pub entries: u64,
    /// Records written.
    pub records: u64,
    /// Source files skipped (sockets, devices, fifos).
    pub skipped: Vec<String>,
}

struct Job {
    seq: u64,
    logical_offset: u64,
    raw: Vec<u8>,
}

struct Done {
    logical_offset: u64,
    raw_len: u32,
    codec: Codec,
    stored: Vec<u8>,
    crc: u32,
    hash: [u8; 32],
}

type Progress = Box<dyn FnMut(u64) + Send>;

/// Builds an archive: add entries, records and metadata, then [`ArchiveWriter::finish`].
///
/// Blocks are compressed on worker threads with a bounded queue, and written in logical order;
/// nothing is visible at the destination until `finish` commits the sink.
pub struct ArchiveWriter {
    sink: Box<dyn Sink>,
    pos: u64,
    opts: WriteOptions,
    block: Vec<u8>,
    logical: u64,
    next_seq: u64,
    next_emit: u64,
    jobs: Option<Sender<Job>>,
    results: Receiver<(u64, Done)>,
    workers: Vec<JoinHandle<()>>,
    reorder: BTreeMap<u64, Done>,
    crypt: Option<Arc<Crypt>>,
    seen: HashMap<[u8; 32], (u64, u32, Codec, u32)>,
    page: Vec<BlockEntry>,
    index_pages: Vec<PageRef>,
    block_count: u64,
    entries: Vec<Entry>,
    paths: HashSet<String>,
    records: Vec<Record>,
    record_pages: Vec<PageRef>,
    record_count: u64,
    groups: Vec<RecordGroup>,
    metadata: Option<Vec<u8>>,
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
            .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
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
        let mut optional = 0;
        if opts.dedup {
            optional |= OptionalFeatures::DEDUP;
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
            .map_err(|e| Error::io(format!("writing {}", sink.describe()), e))?;
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
        let (job_tx, job_rx) = bounded::<Job>(threads * 2);
        let (res_tx, res_rx) = unbounded();
        let compression = opts.compression;
        let workers = (0..threads)
            .map(|i| {
                let (rx, tx) = (job_rx.clone(), res_tx.clone());
                let crypt = crypt.clone();
                std::thread::Builder::new()
                    .name(format!("hexz-compress-{i}"))
                    .spawn(move || compress_worker(rx, tx, compression, crypt.as_deref()))
                    .map_err(|e| Error::io("spawning compression thread", e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ArchiveWriter {
            sink,
            pos: bytes.len() as u64,
            block: Vec::with_capacity(bs as usize),
            opts,
            logical: 0,
            next_seq: 0,
            next_emit: 0,
            jobs: Some(job_tx),
            results: res_rx,
            workers,
            reorder: BTreeMap::new(),
            crypt,
            seen: HashMap::new(),
            page: Vec::new(),
            index_pages: Vec::new(),
            block_count: 0,
            entries: Vec::new(),
            paths: HashSet::new(),
            records: Vec::new(),
            record_pages: Vec::new(),
            record_count: 0,
            groups: Vec::new(),
            metadata: None,
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

    /// Adds a file entry whose bytes come from `reader`. `size_hint` (when known) lets a large
    /// file start on a block boundary, so its blocks dedup and read independently.
    pub fn add_reader(
        &mut self,
        path: &str,
        reader: impl Read,
        meta: EntryMeta,
        size_hint: Option<u64>,
    ) -> Result<u64> {
        self.add_data(path, EntryKind::File, reader, meta, size_hint)
    }

    /// Adds a file entry holding `data`.
    pub fn add_bytes(&mut self, path: &str, data: &[u8], meta: EntryMeta) -> Result<()> {
        self.add_data(path, EntryKind::File, data, meta, Some(data.len() as u64))
            .map(|_| ())
    }

    /// Adds a raw stream entry (`disk` for a disk image, `memory` for a RAM dump).
    pub fn add_stream(&mut self, name: &str, reader: impl Read, meta: EntryMeta) -> Result<u64> {
        self.add_data(name, EntryKind::Stream, reader, meta, None)
    }

    /// Adds the local file `src` as entry `path`.
    pub fn add_file(&mut self, src: &Path, path: &str) -> Result<u64> {
        let source = |e| Error::Source {
            path: src.to_path_buf(),
            source: e,
        };
        let file = std::fs::File::open(src).map_err(source)?;
        let md = file.metadata().map_err(source)?;
        if md.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is a directory",
                src.display()
            )));
        }
        self.add_reader(path, file, meta_of(&md), Some(md.len()))
    }

    /// Adds a directory entry (no data).
    pub fn add_dir_entry(&mut self, path: &str, meta: EntryMeta) -> Result<()> {
        self.push_entry(Entry {
            path: path.into(),
            kind: EntryKind::Dir,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: 0,
            size: 0,
            target: None,
        })
    }

    /// Adds a symbolic link entry.
    pub fn add_symlink(&mut self, path: &str, target: &str, meta: EntryMeta) -> Result<()> {
        if target.is_empty()
            || target.len() > hexz_format::limits::MAX_PATH_LEN as usize
            || target.contains('\0')
        {
            return Err(Error::InvalidInput(format!(
                "symlink {path}: invalid target {target:?}"
            )));
        }
        self.push_entry(Entry {
            path: path.into(),
            kind: EntryKind::Symlink,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: 0,
            size: 0,
            target: Some(target.into()),
        })
    }

    /// Adds every file, directory and symlink under `src` (not following symlinks), with paths
    /// relative to `src`, prefixed by `prefix/` when `prefix` is not empty.
    pub fn add_dir(&mut self, src: &Path, prefix: &str) -> Result<()> {
        self.add_dir_filtered(src, prefix, &|_| true)
    }

    /// Like [`add_dir`](Self::add_dir), skipping every path for which `keep` returns false
    /// (a skipped directory is not descended into).
    pub fn add_dir_filtered(
        &mut self,
        src: &Path,
        prefix: &str,
        keep: &dyn Fn(&Path) -> bool,
    ) -> Result<()> {
        let source = |p: &Path, e| Error::Source {
            path: p.to_path_buf(),
            source: e,
        };
        let mut stack = vec![(src.to_path_buf(), prefix.trim_matches('/').to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let mut children: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| source(&dir, e))?
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| source(&dir, e))?;
            children.sort_by_key(|c| c.file_name());
            let mut subdirs = Vec::new();
            for child in children {
                let p = child.path();
                if !keep(&p) {
                    continue;
                }
                let name = child.file_name().into_string().map_err(|n| {
                    Error::InvalidInput(format!("{}: file name {n:?} is not UTF-8", dir.display()))
                })?;
                let rel_child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let md = std::fs::symlink_metadata(&p).map_err(|e| source(&p, e))?;
                let ft = md.file_type();
                if ft.is_dir() {
                    self.add_dir_entry(&rel_child, meta_of(&md))?;
                    subdirs.push((p, rel_child));
                } else if ft.is_symlink() {
                    let target = std::fs::read_link(&p).map_err(|e| source(&p, e))?;
                    let target = target.to_str().ok_or_else(|| {
                        Error::InvalidInput(format!("{}: symlink target is not UTF-8", p.display()))
                    })?;
                    self.add_symlink(&rel_child, target, meta_of(&md))?;
                } else if ft.is_file() {
                    self.add_file(&p, &rel_child)?;
                } else {
                    self.report.skipped.push(p.display().to_string());
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    /// Starts a record group: later [`add_record`](Self::add_record) calls belong to it.
    pub fn begin_records(&mut self, name: &str, dtype: DType, sample_shape: &[u64]) -> Result<()> {
        if dtype == DType::Bytes && !sample_shape.is_empty() {
            return Err(Error::InvalidInput(
                "opaque (bytes) records have no shape".into(),
            ));
        }
        if sample_shape.len() > hexz_format::limits::MAX_NDIM as usize {
            return Err(Error::InvalidInput(format!(
                "{} dimensions exceed the limit of 16",
                sample_shape.len()
            )));
        }
        if name.len() > hexz_format::limits::MAX_PATH_LEN as usize {
            return Err(Error::InvalidInput(
                "record group name longer than 4096 bytes".into(),
            ));
        }
        self.groups.push(RecordGroup {
            first_record: self.record_count,
            record_count: 0,
            name: name.into(),
            dtype,
            shape: sample_shape.to_vec(),
        });
        Ok(())
    }

    /// Appends one sample to the current record group.
    pub fn add_record(&mut self, data: &[u8]) -> Result<()> {
        let group = self
            .groups
            .last_mut()
            .ok_or_else(|| Error::InvalidInput("add_record before begin_records".into()))?;
        if let Some(n) = group.sample_bytes() {
            if n != data.len() as u64 {
                return Err(Error::InvalidInput(format!(
                    "record of {} bytes does not match {} of shape {:?} ({n} bytes)",
                    data.len(),
                    group.dtype.name(),
                    group.shape
                )));
            }
        }
        group.record_count += 1;
        // Record-aligned blocks: a record that does not fit in what is left of the block
        // starts a new one, so no record that fits in a block is split between two.
        let len = data.len() as u64;
        let room = (self.opts.block_size as usize - self.block.len()) as u64;
        if len > room {
            self.cut_block()?;
        }
        self.records.push(Record {
            offset: self.logical,
            length: len,
        });
        self.record_count += 1;
        self.append(data)?;
        let min = self.opts.record_block_min as usize;
        if (min > 0 && self.block.len() >= min) || len > self.opts.block_size as u64 {
            self.cut_block()?;
        }
        if self.records.len() == RECORDS_PER_PAGE as usize {
            self.flush_record_page()?;
        }
        Ok(())
    }

    /// Adds an array of `shape` (first axis = samples) as a record group named `name`, one
    /// record per row; `data` is the array's bytes in C order, little-endian.
    pub fn add_array(
        &mut self,
        name: &str,
        dtype: DType,
        shape: &[u64],
        data: &[u8],
    ) -> Result<()> {
        if dtype == DType::Bytes {
            return Err(Error::InvalidInput("arrays need a numeric dtype".into()));
        }
        let (rows, sample_shape) = match shape.split_first() {
            Some((&r, rest)) => (r, rest),
            None => (1, &[][..]),
        };
        let row_bytes = sample_shape
            .iter()
            .try_fold(dtype.itemsize() as u64, |a, &d| a.checked_mul(d));
        let total = row_bytes.and_then(|r| r.checked_mul(rows));
        if total != Some(data.len() as u64) {
            return Err(Error::InvalidInput(format!(
                "array {name:?}: {} bytes do not match {} of shape {shape:?}",
                data.len(),
                dtype.name()
            )));
        }
        self.begin_records(name, dtype, sample_shape)?;
        let row = row_bytes.unwrap_or(0) as usize;
        if row == 0 {
            for _ in 0..rows {
                self.add_record(&[])?;
            }
        } else {
            for chunk in data.chunks(row) {
                self.add_record(chunk)?;
            }
        }
        Ok(())
    }

    /// Sets the user metadata; must be a JSON object.
    pub fn set_metadata(&mut self, json: &[u8]) -> Result<()> {
        match serde_json::from_slice::<serde_json::Value>(json) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(_) => return Err(Error::InvalidInput("metadata must be a JSON object".into())),
            Err(e) => {
                return Err(Error::InvalidInput(format!(
                    "metadata is not valid JSON: {e}"
                )))
            }
        }
        self.metadata = Some(json.to_vec());
        Ok(())
    }

    /// Writes the tables, summary and footer and commits the sink atomically.
    pub fn finish(mut self) -> Result<WriteReport> {
        self.cut_block()?;
        self.jobs = None;
        for w in std::mem::take(&mut self.workers) {
            if w.join().is_err() {
                return Err(Error::InvalidInput("a compression thread panicked".into()));
            }
        }
        self.drain(true)?;
        if !self.page.is_empty() {
            self.flush_index_page()?;
        }
        if !self.records.is_empty() {
            self.flush_record_page()?;
        }
        self.entries
            .sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        let entries = match self.entries.is_empty() {
            true => FrameRef::default(),
            false => self.write_frame(&encode_entries(&self.entries), FrameKind::Entries)?,
        };
        let groups = match self.groups.is_empty() {
            true => FrameRef::default(),
            false => self.write_frame(&encode_groups(&self.groups), FrameKind::RecordGroups)?,
        };
        let metadata = match self.metadata.take() {
            Some(m) => self.write_frame(&m, FrameKind::Metadata)?,
            None => FrameRef::default(),
        };
        let summary = Summary {
            logical_size: self.logical,
            block_count: self.block_count,
            entries_per_page: if self.block_count > 0 {
                self.opts.entries_per_page
            } else {
                0
            },
            entry_count: self.entries.len() as u64,
            record_count: self.record_count,
            records_per_page: if self.record_count > 0 {
                RECORDS_PER_PAGE
            } else {
                0
            },
            record_group_count: self.groups.len() as u32,
            parent_count: 0,
            stored_data_bytes: self.stored_bytes,
            entries,
            metadata,
            record_groups: groups,
            parents: FrameRef::default(),
            index_pages: std::mem::take(&mut self.index_pages),
            record_pages: std::mem::take(&mut self.record_pages),
        };
        let (sref, summary_stored) =
            self.write_frame_stored(&summary.encode(), FrameKind::Summary)?;
        #[cfg(feature = "signing")]
        let signature_offset = match self.opts.signing_key.clone() {
            Some(key) => {
                let root = crate::sign::root_hash(&self.header, &summary_stored);
                let at = self.pos;
                self.write(&key.sign_root(&root).encode())?;
                Some(at)
            }
            None => None,
        };
        #[cfg(not(feature = "signing"))]
        let signature_offset = None;
        drop(summary_stored);
        let footer = Footer {
            summary_offset: sref.offset,
            summary_stored_len: sref.stored_len,
            summary_raw_len: sref.raw_len,
            summary_codec: sref.codec().map_err(|e| Error::format("summary", e))?,
            summary_crc: sref.crc,
            signature_offset,
        };
        self.write(&footer.encode())?;
        let mut report = std::mem::take(&mut self.report);
        report.logical_size = self.logical;
        report.file_len = self.pos;
        report.blocks = self.block_count;
        report.entries = self.entries.len() as u64;
        report.records = self.record_count;
        let name = self.sink.describe();
        self.sink
            .commit()
            .map_err(|e| Error::io(format!("committing {name}"), e))?;
        Ok(report)
    }

    fn push_entry(&mut self, entry: Entry) -> Result<()> {
        check_path(&entry.path).map_err(|e| Error::InvalidInput(e.to_string()))?;
        if !self.paths.insert(entry.path.clone()) {
            return Err(Error::DuplicateEntry(entry.path));
        }
        self.entries.push(entry);
        Ok(())
    }

    fn add_data(
        &mut self,
        path: &str,
        kind: EntryKind,
        mut reader: impl Read,
        meta: EntryMeta,
        size_hint: Option<u64>,
    ) -> Result<u64> {
        check_path(path).map_err(|e| Error::InvalidInput(e.to_string()))?;
        if self.paths.contains(path) {
            return Err(Error::DuplicateEntry(path.into()));
        }
        if size_hint.is_none_or(|s| s >= self.opts.block_size as u64) {
            self.cut_block()?;
        }
        let start = self.logical;
        let mut chunk = vec![0u8; (self.opts.block_size as usize).max(1 << 20)];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(format!("reading data for {path}"), e)),
            };
            self.append(&chunk[..n])?;
        }
        let size = self.logical - start;
        self.push_entry(Entry {
            path: path.into(),
            kind,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: start,
            size,
            target: None,
        })?;
        Ok(size)
    }

    fn append(&mut self, mut data: &[u8]) -> Result<()> {
        let bs = self.opts.block_size as usize;
        if self.logical + data.len() as u64 > hexz_format::limits::MAX_LOGICAL_SIZE {
            return Err(Error::InvalidInput(
                "archive would exceed 2^62 bytes".into(),
            ));
        }
        while !data.is_empty() {
            let take = (bs - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.logical += take as u64;
            self.added += take as u64;
            if self.block.len() == bs {
                self.cut_block()?;
            }
        }
        if let Some(p) = &mut self.progress {
            p(self.added);
        }
        Ok(())
    }

    /// Sends the current partial block to the compressors.
    fn cut_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let raw = std::mem::replace(
            &mut self.block,
            Vec::with_capacity(self.opts.block_size as usize),
        );
        let job = Job {
            seq: self.next_seq,
            logical_offset: self.logical - raw.len() as u64,
            raw,
        };
        self.next_seq += 1;
        let tx = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("writer already finished".into()))?;
        tx.send(job)
            .map_err(|_| Error::InvalidInput("compression threads stopped".into()))?;
        self.drain(false)
    }

    /// Writes finished blocks in logical order; with `all`, waits for every outstanding block.
    fn drain(&mut self, all: bool) -> Result<()> {
        loop {
            while let Some(done) = self.reorder.remove(&self.next_emit) {
                self.emit(done)?;
                self.next_emit += 1;
            }
            if self.next_emit == self.next_seq {
                return Ok(());
            }
            let got = if all {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            match got {
                Some((seq, done)) => {
                    self.reorder.insert(seq, done);
                }
                None if all => {
                    return Err(Error::InvalidInput("compression threads stopped".into()))
                }
                None => return Ok(()),
            }
        }
    }

    fn emit(&mut self, d: Done) -> Result<()> {
        let (stored_offset, stored_len, codec, crc) = if d.codec == Codec::Zero {
            self.report.zero_blocks += 1;
            (0, 0, Codec::Zero, 0)
        } else if let Some(&hit) = self.seen.get(&d.hash).filter(|_| self.opts.dedup) {
            self.report.dedup_blocks += 1;
            hit
        } else {
            let at = self.pos;
            let mut stored = d.stored;
            let mut crc = d.crc;
            if let Some(c) = &self.crypt {
                // Sealed here, where the file offset (the nonce) is known.
                c.seal_block(at, d.raw_len, d.codec, d.hash, &mut stored)?;
                crc = hexz_format::crc32c(&stored);
            }
            self.write(&stored)?;
            let v = (at, stored.len() as u32, d.codec, crc);
            if self.opts.dedup {
                self.seen.insert(d.hash, v);
            }
            self.report.stored_blocks += 1;
            self.stored_bytes += stored.len() as u64;
            v
        };
        self.page.push(BlockEntry {
            logical_offset: d.logical_offset,
            stored_offset,
            stored_len,
            raw_len: d.raw_len,
            codec,
            parent: None,
            crc,
            hash: d.hash,
        });
        self.block_count += 1;
        if self.page.len() == self.opts.entries_per_page as usize {
            self.flush_index_page()?;
        }
        Ok(())
    }

    fn flush_index_page(&mut self) -> Result<()> {
        let mut raw = Vec::with_capacity(self.page.len() * 64);
        for e in &self.page {
            e.put(&mut raw);
        }
        let first = self.page[0].logical_offset;
        self.page.clear();
        let frame = self.write_frame(&raw, FrameKind::IndexPage)?;
        self.index_pages.push(PageRef { frame, first });
        Ok(())
    }

    fn flush_record_page(&mut self) -> Result<()> {
        let first = self.record_count - self.records.len() as u64;
        let raw = encode_records(&self.records);
        self.records.clear();
        let frame = self.write_frame(&raw, FrameKind::RecordPage)?;
        self.record_pages.push(PageRef { frame, first });
        Ok(())
    }

    fn write_frame(&mut self, raw: &[u8], kind: FrameKind) -> Result<FrameRef> {
        self.write_frame_stored(raw, kind).map(|(f, _)| f)
    }

    /// Writes a frame and returns its reference and stored bytes.
    fn write_frame_stored(&mut self, raw: &[u8], kind: FrameKind) -> Result<(FrameRef, Vec<u8>)> {
        let (codec, mut stored) = Compression::Lz4.encode(raw);
        if let Some(c) = &self.crypt {
            c.seal_frame(self.pos, raw.len() as u32, codec.id(), kind, &mut stored)?;
        }
        let f = FrameRef {
            offset: self.pos,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            codec: codec.id(),
            crc: hexz_format::crc32c(&stored),
            hash: *blake3::hash(&stored).as_bytes(),
        };
        if raw.len() > hexz_format::limits::MAX_TABLE_RAW as usize {
            return Err(Error::InvalidInput(format!(
                "a table of {} bytes exceeds the 1 GiB limit",
                raw.len()
            )));
        }
        self.write(&stored)?;
        Ok((f, stored))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let name = self.sink.describe();
        self.sink
            .write_all(bytes)
            .map_err(|e| Error::io(format!("writing {name}"), e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }
}

fn compress_worker(
    rx: Receiver<Job>,
    tx: Sender<(u64, Done)>,
    compression: Compression,
    crypt: Option<&Crypt>,
) {
    while let Ok(job) = rx.recv() {
        let raw = job.raw;
        let hash = content_hash(crypt, &raw);
        let (codec, stored) = if is_zero(&raw) {
            (Codec::Zero, Vec::new())
        } else {
            compression.encode(&raw)
        };
        // A sealed block's crc covers its ciphertext: computed once it is sealed.
        let crc = if stored.is_empty() || crypt.is_some() {
            0
        } else {
            hexz_format::crc32c(&stored)
        };
        let done = Done {
            logical_offset: job.logical_offset,
            raw_len: raw.len() as u32,
            codec,
            stored,
            crc,
            hash,
        };
        if tx.send((job.seq, done)).is_err() {
            return;
        }
    }
}

fn is_zero(b: &[u8]) -> bool {
    let (words, tail) = b.as_chunks::<16>();
    words.iter().all(|w| u128::from_ne_bytes(*w) == 0) && tail.iter().all(|&x| x == 0)
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
