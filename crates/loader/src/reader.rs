//! `NativeArchive`: the reader behind `hexz.Reader`, `hexz.Dataset` and friends.

use crate::batch::{self, Gathered};
use crate::chunk::Chunk;
use crate::errors::IntoPy;
use crate::lent::Lent;
use crate::options::OpenArgs;
use crate::remote;
use crate::reopen::{self, ReopenArg};
use hexz_core::{Archive, ReadOptions};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// One open archive. All reads release the GIL; the object is safe to share between threads.
#[pyclass(frozen, module = "hexz._native")]
pub struct NativeArchive {
    archive: Arc<Archive>,
    path: String,
}

/// `(name, dtype, sample_shape, first_record, record_count)`.
type GroupTuple = (String, &'static str, Vec<u64>, u64, u64);

/// `(path, kind, mode, mtime_ns, offset, size, target)`.
type EntryTuple = (String, &'static str, u32, i64, u64, u64, Option<String>);

fn entry_tuple(e: &hexz_core::Entry) -> EntryTuple {
    (
        e.path.clone(),
        e.kind.name(),
        e.mode,
        e.mtime_ns,
        e.data_offset,
        e.size,
        e.target.clone(),
    )
}

impl NativeArchive {
    /// The open archive, shared: a mount serves it while Python may still read it too.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn archive(&self) -> &Arc<Archive> {
        &self.archive
    }

    /// The path or URL the archive was opened from.
    pub(crate) fn path_str(&self) -> &str {
        &self.path
    }
}

#[pymethods]
impl NativeArchive {
    #[new]
    #[pyo3(signature = (
        path,
        cache_bytes = 64 << 20,
        readahead_threads = 4,
        *,
        options = None,
        mmap = false,
        reopen = None,
    ))]
    fn new(
        py: Python<'_>,
        path: String,
        cache_bytes: usize,
        readahead_threads: usize,
        options: Option<OpenArgs>,
        mmap: bool,
        reopen: Option<ReopenArg>,
    ) -> PyResult<Self> {
        let args = options.unwrap_or_default();
        let verify_key = args.verify_key()?;
        // Built from the defaults: hexz-core may have fields (verify_key) that this crate's
        // features leave unset, when another crate in the build enables them.
        #[allow(unused_mut, clippy::needless_update)]
        let mut opts = ReadOptions {
            cache_bytes,
            readahead_threads,
            verify_hashes: false,
            key: args.key_source()?,
            mmap,
            ..ReadOptions::default()
        };
        #[cfg(feature = "signing")]
        {
            opts.verify_key = verify_key;
        }
        #[cfg(not(feature = "signing"))]
        let _ = verify_key;
        let reopen = reopen.map(ReopenArg::into_reopen).unwrap_or_default();
        let pin = reopen.pin;
        opts.held = reopen.held;
        opts.parent_reopen = reopen.parents;
        opts.parent_paths = args.parent_path.clone();
        opts.open_parent = Some(remote::parent_opener(&args));
        let archive = if remote::is_url(&path) {
            py.detach(|| remote::open(&path, opts, &args, pin.as_ref()))
                .py()?
        } else {
            py.detach(|| Archive::open_with_options(&path, opts)).py()?
        };
        Ok(NativeArchive {
            archive: Arc::new(archive),
            path,
        })
    }

    /// The path or URL the archive was opened from.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    fn __len__(&self) -> usize {
        self.archive.len() as usize
    }

    /// Nominal block size of the archive.
    #[getter]
    fn block_size(&self) -> u32 {
        self.archive.header().block_size
    }

    /// Reads `length` bytes at `offset` (fewer at the end). A range inside one block is a
    /// view of the cached block; a longer one is decoded straight into a new buffer.
    fn read_at(&self, py: Python<'_>, offset: u64, length: u64) -> PyResult<Chunk> {
        let len = self.archive.len().saturating_sub(offset).min(length) as usize;
        if len == 0 {
            return Ok(Chunk::owned(Vec::new()));
        }
        let a = &self.archive;
        py.detach(|| {
            let (start, block) = a.block_at(offset)?;
            let skip = (offset - start) as usize;
            if skip + len <= block.len() {
                return Ok(Chunk::shared(block, skip, len));
            }
            let mut buf = vec![0u8; len];
            a.read_exact_at(offset, &mut buf)?;
            Ok(Chunk::owned(buf))
        })
        .py()
    }

    /// Reads into `buffer` (a writable, C-contiguous buffer of bytes: a `bytearray`, a
    /// `memoryview` cast to bytes...) from `offset`. Returns the bytes read.
    fn read_into(&self, py: Python<'_>, offset: u64, buffer: PyBuffer<u8>) -> PyResult<usize> {
        let mut dst = Lent::writable(buffer)?;
        let a = &self.archive;
        py.detach(|| a.read_at(offset, dst.bytes_mut())).py()
    }

    /// Reads several `(offset, length)` ranges, in parallel, into one new buffer; returns the
    /// buffer (writable) and the start of each range in it.
    fn read_ranges(
        &self,
        py: Python<'_>,
        ranges: Vec<(u64, u64)>,
    ) -> PyResult<(Chunk, Vec<usize>)> {
        let a = &self.archive;
        py.detach(|| {
            let mut starts = Vec::with_capacity(ranges.len());
            let mut total = 0usize;
            let mut rs = Vec::with_capacity(ranges.len());
            for (off, len) in ranges {
                starts.push(total);
                total += len as usize;
                rs.push((off, len as usize));
            }
            let mut buf = vec![0u8; total];
            a.read_batch(&rs, &mut buf)?;
            Ok((Chunk::owned(buf), starts))
        })
        .py()
    }

    /// Reads records by number, in parallel, into one new buffer; returns the buffer and the
    /// `(start, length)` of each record in it.
    fn read_records(
        &self,
        py: Python<'_>,
        indices: Vec<u64>,
    ) -> PyResult<(Chunk, Vec<(usize, usize)>)> {
        let a = &self.archive;
        py.detach(|| {
            let mut rs = Vec::with_capacity(indices.len());
            let mut spans = Vec::with_capacity(indices.len());
            let mut total = 0usize;
            for i in indices {
                let r = a.record(i)?;
                spans.push((total, r.length as usize));
                total += r.length as usize;
                rs.push((r.offset, r.length as usize));
            }
            let mut buf = vec![0u8; total];
            a.read_batch(&rs, &mut buf)?;
            Ok((Chunk::owned(buf), spans))
        })
        .py()
    }

    /// Reads records by number as one batch: `(buffer, spans, mapped)`, where `spans[k]` is
    /// record k's `(start, length)` in the buffer, or, with `views`, in the memory map
    /// ([`Self::map_view`]) for each `k` listed in `mapped` (raw blocks of a mapped archive:
    /// neither decoded nor copied). Without `views` all samples are in the buffer.
    #[pyo3(signature = (indices, views = true))]
    fn gather_records(&self, py: Python<'_>, indices: Vec<u64>, views: bool) -> PyResult<Gathered> {
        let a = &self.archive;
        py.detach(|| batch::gather_records(a, &indices, views)).py()
    }

    /// Reads `(offset, length)` ranges as one batch, as [`Self::gather_records`] does.
    #[pyo3(signature = (ranges, views = true))]
    fn gather_ranges(
        &self,
        py: Python<'_>,
        ranges: Vec<(u64, usize)>,
        views: bool,
    ) -> PyResult<Gathered> {
        let a = &self.archive;
        py.detach(|| batch::gather_ranges(a, &ranges, views)).py()
    }

    /// Queues a read of records `indices` as one batch on this process's reader thread; the
    /// returned object's `wait()` gives what [`Self::gather_records`] would.
    #[pyo3(signature = (indices, views = true))]
    fn submit_records(&self, indices: Vec<u64>, views: bool) -> PyResult<PendingRead> {
        let pending = batch::PendingBatch::spawn(self.archive.clone(), indices, views)
            .map_err(|e| PyValueError::new_err(format!("cannot start a read thread: {e}")))?;
        Ok(PendingRead { pending })
    }

    /// The whole archive file as a read-only buffer, when it was opened with `mmap=True`
    /// (local, unencrypted), else `None`.
    fn map_view(&self) -> Option<Chunk> {
        Chunk::mapped(self.archive.clone())
    }

    /// What reopens this archive in another process with no request to its store:
    /// `((length, etag) or None, [(offset, stored metadata bytes), ...])`, for `reopen=`.
    fn reopen_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        reopen::reopen_state(py, &self.archive)
    }

    /// Fetches all index and record pages of a remote archive now (one batch of concurrent
    /// requests) so that [`Self::reopen_state`] carries them; false for a local archive or
    /// pages beyond the budget.
    fn hold_pages(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| self.archive.hold_pages()).py()
    }

    /// Whether all of the archive can be read now without a network request (a local file,
    /// or a remote one whose disk cache holds all of it).
    fn all_local(&self, py: Python<'_>) -> bool {
        let store = self.archive.store().clone();
        py.detach(move || store.all_local())
    }

    /// Read counters since open: `blocks_decoded`, `bytes_decoded`, `bytes_returned`,
    /// `bytes_mapped` (returned as views of the map).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.archive.stats();
        let d = PyDict::new(py);
        d.set_item("blocks_decoded", s.blocks_decoded)?;
        d.set_item("bytes_decoded", s.bytes_decoded)?;
        d.set_item("bytes_returned", s.bytes_returned)?;
        d.set_item("bytes_mapped", s.bytes_mapped)?;
        Ok(d)
    }

    /// Starts decoding the given `(offset, length)` ranges into the cache in the background.
    fn prefetch(&self, py: Python<'_>, ranges: Vec<(u64, u64)>) {
        let a = &self.archive;
        py.detach(|| {
            for (off, len) in ranges {
                a.prefetch(off, len);
            }
        })
    }

    /// Starts decoding the blocks of the given records into the cache in the background.
    fn prefetch_records(&self, py: Python<'_>, indices: Vec<u64>) -> PyResult<()> {
        let a = &self.archive;
        py.detach(|| {
            // Merge touching records into spans first: from a remote store, a span becomes a
            // few large requests, where one call per record would cost a request per block.
            let mut spans = indices
                .into_iter()
                .map(|i| a.record(i).map(|r| (r.offset, r.offset + r.length)))
                .collect::<hexz_core::Result<Vec<_>>>()?;
            spans.sort_unstable();
            let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
            for (start, end) in spans {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((start, end)),
                }
            }
            for (start, end) in merged {
                a.prefetch(start, end - start);
            }
            Ok(())
        })
        .py()
    }

    /// Every entry as `(path, kind, mode, mtime_ns, offset, size, target)`, sorted by path.
    fn entries(&self, py: Python<'_>) -> PyResult<Vec<EntryTuple>> {
        let entries = py.detach(|| self.archive.entries()).py()?;
        Ok(entries.iter().map(entry_tuple).collect())
    }

    /// One entry by path, or `None`.
    fn entry(&self, py: Python<'_>, path: &str) -> PyResult<Option<EntryTuple>> {
        let e = py.detach(|| self.archive.entry(path)).py()?;
        Ok(e.as_ref().map(entry_tuple))
    }

    /// User metadata (JSON text), or `None`.
    fn metadata(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let m = py.detach(|| self.archive.metadata()).py()?;
        m.map(|b| String::from_utf8(b).map_err(|_| PyValueError::new_err("metadata is not UTF-8")))
            .transpose()
    }

    /// Record groups as `(name, dtype, sample_shape, first_record, record_count)`.
    fn record_groups(&self, py: Python<'_>) -> PyResult<Vec<GroupTuple>> {
        let groups = py.detach(|| self.archive.record_groups()).py()?;
        Ok(groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    g.dtype.name(),
                    g.shape.clone(),
                    g.first_record,
                    g.record_count,
                )
            })
            .collect())
    }

    /// Number of records.
    #[getter]
    fn record_count(&self) -> u64 {
        self.archive.record_count()
    }

    /// Record `i` as `(offset, length)`.
    fn record(&self, py: Python<'_>, i: u64) -> PyResult<(u64, u64)> {
        if i >= self.archive.record_count() {
            return Err(PyIndexError::new_err(format!(
                "record {i} out of range ({} records)",
                self.archive.record_count()
            )));
        }
        let r = py.detach(|| self.archive.record(i)).py()?;
        Ok((r.offset, r.length))
    }

    /// Bytes of decoded blocks held in the cache.
    #[getter]
    fn cached_bytes(&self) -> usize {
        self.archive.cached_bytes()
    }

    /// Changes the block cache's budget in bytes. A smaller one evicts now, and the memory
    /// freed goes back to the system.
    fn set_cache_bytes(&self, py: Python<'_>, bytes: usize) {
        let before = self.archive.cached_bytes();
        self.archive.set_cache_bytes(bytes);
        if self.archive.cached_bytes() < before {
            py.detach(crate::memory::return_free_memory);
        }
    }

    /// Format and size facts, as `hexz inspect` shows them.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let a = &self.archive;
        let h = a.header();
        let s = a.summary();
        let d = PyDict::new(py);
        d.set_item("version", a.header().version)?;
        d.set_item("block_size", h.block_size)?;
        d.set_item("required_features", h.required.names())?;
        d.set_item("optional_features", h.optional.names())?;
        d.set_item("file_size", a.file_len())?;
        d.set_item("logical_size", s.logical_size)?;
        d.set_item("block_count", s.block_count)?;
        d.set_item("entry_count", s.entry_count)?;
        d.set_item("record_count", s.record_count)?;
        d.set_item("signed", a.footer().signature_offset.is_some())?;
        d.set_item(
            "signer",
            a.signature().map(|s| crate::sign::hex(&s.public_key)),
        )?;
        d.set_item("root_hash", crate::sign::hex(&a.root_hash()))?;
        d.set_item("encrypted", a.is_encrypted())?;
        Ok(d)
    }

    /// Checks every block and table; returns the list of problems (empty when intact).
    fn verify(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let r = py
            .detach(|| hexz_core::verify::verify(&self.archive, &|_| {}))
            .py()?;
        Ok(r.problems)
    }

    /// Checks every block, table and the signature, as `hexz verify` does; returns `ok`,
    /// `problems`, `signature` (`"unsigned"`, `"valid"`, `"invalid"` or `"unchecked"`),
    /// `signed`, `signer` (the public key a valid signature was made with, hex), `root_hash`,
    /// `frames`, `blocks` and `bytes`.
    fn verify_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use hexz_core::verify::SignatureCheck;
        let r = py
            .detach(|| hexz_core::verify::verify(&self.archive, &|_| {}))
            .py()?;
        let (state, signer) = match &r.signature {
            SignatureCheck::Unsigned => ("unsigned", None),
            SignatureCheck::Valid { public_key } => ("valid", Some(crate::sign::hex(public_key))),
            SignatureCheck::Invalid(_) => ("invalid", None),
            SignatureCheck::Unchecked => ("unchecked", None),
        };
        let d = PyDict::new(py);
        d.set_item("ok", r.is_ok())?;
        d.set_item("problems", r.problems.clone())?;
        d.set_item("signature", state)?;
        d.set_item("signed", self.archive.signature().is_some())?;
        d.set_item("signer", signer)?;
        d.set_item("root_hash", crate::sign::hex(&self.archive.root_hash()))?;
        d.set_item("contents_checked", true)?;
        d.set_item("frames", r.frames)?;
        d.set_item("blocks", r.blocks)?;
        d.set_item("bytes", r.bytes)?;
        Ok(d)
    }
}

/// A batch being read in the background (`NativeArchive.submit_records`).
#[pyclass(frozen, module = "hexz._native")]
pub struct PendingRead {
    pending: batch::PendingBatch,
}

#[pymethods]
impl PendingRead {
    /// Waits for the batch (with the GIL released) and returns it, once.
    fn wait(&self, py: Python<'_>) -> PyResult<Gathered> {
        match py.detach(|| self.pending.wait()) {
            Some(result) => result.py(),
            None => Err(PyValueError::new_err(
                "this batch was already taken, or its read thread died",
            )),
        }
    }
}
