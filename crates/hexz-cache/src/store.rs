//! [`CachedStore`]: a [`ReadAt`] that keeps the chunks it reads from a remote store on disk.

use crate::chunk::{self, Bad, ChunkFile};
use crate::layout::{self, Meta};
use crate::{evict, CacheOptions, Error};
use hexz_core::{Pin, ReadAt};
use lru::LruCache;
use parking_lot::{Condvar, Mutex};
use std::collections::{HashMap, HashSet};
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Chunks handled per step of one read: a read's memory for fetched chunks stays below this
/// many chunks (64 MiB at the default size), however long the read.
const BATCH: usize = 8;
/// Chunk files kept open per handle (their headers checked once, their pages checked once
/// each): 512 MiB of chunks at the default size, more than a block-shuffled epoch draws from
/// at once, while leaving most of the usual limit of 1,024 descriptors to the process.
const OPEN_FILES: usize = 64;
/// How often [`CachedStore::all_local`] looks for chunk files again while some are missing.
const LOCAL_RECHECK: Duration = Duration::from_secs(1);
/// A chunk that turns out damaged is refetched at most this many times in one read.
const RETRIES: usize = 2;

/// Counters of one [`CachedStore`], for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Chunks found on disk (opened from their file or already open).
    pub hits: u64,
    /// Chunks fetched from the inner store.
    pub misses: u64,
    /// Bytes fetched from the inner store.
    pub fetched_bytes: u64,
    /// Cached chunk files found damaged (deleted and refetched).
    pub corrupt: u64,
    /// Fetched chunks that could not be written to the cache (served all the same).
    pub write_errors: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    fetched_bytes: AtomicU64,
    corrupt: AtomicU64,
    write_errors: AtomicU64,
}

/// Where one chunk's bytes are during a read.
enum Source {
    /// A checked chunk file.
    File(Arc<ChunkFile>),
    /// Bytes just fetched from the inner store.
    Fetched(Arc<Vec<u8>>),
}

impl Source {
    fn read(&self, at: u64, dst: &mut [u8]) -> Result<(), Bad> {
        match self {
            Source::File(f) => f.read(at, dst),
            Source::Fetched(b) => {
                dst.copy_from_slice(&b[at as usize..at as usize + dst.len()]);
                Ok(())
            }
        }
    }
}

/// A remote store with a local disk cache in front: reads are served from chunk files in the
/// cache directory, and a chunk that is not there is fetched whole from the inner store,
/// written to its own file and served.
///
/// Any number of handles, threads and processes may share one cache directory. A read never
/// returns cached bytes whose crc32c does not match; a damaged chunk file is deleted and
/// refetched. Failing to write the cache (a full disk) never fails a read.
pub struct CachedStore {
    inner: Arc<dyn ReadAt>,
    /// The cache directory (eviction works over all of it).
    dir: PathBuf,
    /// This archive's directory in it.
    archive_dir: PathBuf,
    len: u64,
    chunk_size: u64,
    limit: u64,
    open: Mutex<LruCache<u64, Arc<ChunkFile>>>,
    /// Chunks this handle is fetching now; other threads wait for them instead of fetching
    /// them again.
    inflight: Mutex<HashSet<u64>>,
    fetched: Condvar,
    /// Bytes written since the size of the cache was last checked.
    written: AtomicU64,
    evicting: Mutex<()>,
    counters: Counters,
    /// Every chunk had a file when last looked, and none was found missing or damaged since.
    complete: AtomicBool,
    /// When chunk files were last looked for (while not `complete`), and the count of
    /// chunks this handle had fetched then.
    local_checked: Mutex<Option<(Instant, u64)>>,
}

impl std::fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedStore")
            .field("inner", &self.inner.describe())
            .field("archive_dir", &self.archive_dir)
            .field("chunk_size", &self.chunk_size)
            .field("limit", &self.limit)
            .finish()
    }
}

impl CachedStore {
    /// Puts a cache in `opts.dir` in front of `inner`, whose
    /// [`identity`](ReadAt::identity) keys the cached chunks. Creates the cache's directories,
    /// records the archive (for `hexz cache ls`), removes temporary files dead writers left and
    /// evicts down to the limit.
    ///
    /// A store without an identity cannot be cached safely: that is
    /// [`Error::InvalidOption`]; [`crate::wrap`] returns such a store unwrapped instead.
    pub fn open(inner: Arc<dyn ReadAt>, opts: &CacheOptions) -> Result<CachedStore, Error> {
        opts.check()?;
        let identity = inner.identity().ok_or_else(|| {
            Error::InvalidOption(format!(
                "{} cannot be cached: it has no identity (no strong ETag)",
                inner.describe()
            ))
        })?;
        let len = inner
            .len()
            .map_err(|e| Error::io(PathBuf::from(inner.describe()), e))?;
        let archive_dir = layout::root(&opts.dir).join(layout::key(&identity, opts.chunk_size));
        std::fs::create_dir_all(&archive_dir).map_err(|e| Error::io(&archive_dir, e))?;
        let meta = Meta {
            identity,
            url: inner.describe(),
            len,
            chunk_size: opts.chunk_size,
        };
        let meta_path = archive_dir.join(layout::META);
        let current = std::fs::read_to_string(&meta_path).ok();
        if current.as_deref().and_then(Meta::from_json).as_ref() != Some(&meta) {
            layout::write_atomic(&archive_dir, layout::META, &[meta.to_json().as_bytes()])
                .map_err(|e| Error::io(&meta_path, e))?;
        }
        evict::enforce(&opts.dir, opts.limit)?;
        Ok(CachedStore {
            inner,
            dir: opts.dir.clone(),
            archive_dir,
            len,
            chunk_size: opts.chunk_size,
            limit: opts.limit,
            open: Mutex::new(LruCache::new(
                NonZeroUsize::new(OPEN_FILES).unwrap_or(NonZeroUsize::MIN),
            )),
            inflight: Mutex::new(HashSet::new()),
            fetched: Condvar::new(),
            written: AtomicU64::new(0),
            evicting: Mutex::new(()),
            counters: Counters::default(),
            complete: AtomicBool::new(false),
            local_checked: Mutex::new(None),
        })
    }

    /// This archive's directory in the cache.
    pub fn archive_dir(&self) -> &Path {
        &self.archive_dir
    }

    /// The path of chunk `index`'s file (which may not exist).
    pub fn chunk_path(&self, index: u64) -> PathBuf {
        self.archive_dir.join(layout::chunk_name(index))
    }

    /// The chunk size.
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            hits: get(&c.hits),
            misses: get(&c.misses),
            fetched_bytes: get(&c.fetched_bytes),
            corrupt: get(&c.corrupt),
            write_errors: get(&c.write_errors),
        }
    }

    /// The object offset and length of chunk `index`.
    fn span(&self, index: u64) -> (u64, u64) {
        let start = index * self.chunk_size;
        (start, self.chunk_size.min(self.len - start))
    }

    /// The chunk from its file, when there is a good one; a damaged one is deleted.
    fn lookup(&self, index: u64) -> Option<Arc<ChunkFile>> {
        if let Some(f) = self.open.lock().get(&index) {
            f.touch();
            return Some(f.clone());
        }
        let (start, len) = self.span(index);
        let path = self.chunk_path(index);
        match ChunkFile::open(&path, start, len) {
            Ok(f) => {
                f.touch();
                let f = Arc::new(f);
                self.open.lock().put(index, f.clone());
                Some(f)
            }
            Err(Bad::Corrupt(_)) => {
                self.complete.store(false, Ordering::Relaxed);
                self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
                let _ = std::fs::remove_file(&path);
                None
            }
            // Unreadable (permissions, I/O): fetch it, and try to write a good copy.
            Err(Bad::Missing | Bad::Io(_)) => {
                self.complete.store(false, Ordering::Relaxed);
                None
            }
        }
    }

    /// Drops a chunk whose file turned out damaged while being read.
    fn discard(&self, index: u64, source: &Source) {
        if let Source::File(f) = source {
            self.complete.store(false, Ordering::Relaxed);
            self.counters.corrupt.fetch_add(1, Ordering::Relaxed);
            f.remove();
            self.open.lock().pop(&index);
        }
    }

    /// The sources of chunks `indices`: files where good ones exist, else fetched (once per
    /// handle: a chunk another thread is fetching is waited for).
    fn load(&self, indices: &[u64]) -> io::Result<HashMap<u64, Source>> {
        let mut got = HashMap::with_capacity(indices.len());
        let mut todo = indices.to_vec();
        loop {
            let mut missing = Vec::new();
            for index in todo.drain(..) {
                match self.lookup(index) {
                    Some(f) => {
                        self.counters.hits.fetch_add(1, Ordering::Relaxed);
                        got.insert(index, Source::File(f));
                    }
                    None => missing.push(index),
                }
            }
            let (mine, theirs): (Vec<u64>, Vec<u64>) = {
                let mut inflight = self.inflight.lock();
                missing.into_iter().partition(|&i| inflight.insert(i))
            };
            // Another thread may have written one of these between the lookup above and the
            // claim (it writes before it releases its claim): look again before fetching.
            let mut found = Vec::new();
            let mine: Vec<u64> = mine
                .into_iter()
                .filter(|&index| match self.lookup(index) {
                    Some(f) => {
                        found.push((index, f));
                        false
                    }
                    None => true,
                })
                .collect();
            if !found.is_empty() {
                let mut inflight = self.inflight.lock();
                for (index, f) in found {
                    inflight.remove(&index);
                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                    got.insert(index, Source::File(f));
                }
                drop(inflight);
                self.fetched.notify_all();
            }
            if !mine.is_empty() {
                let fetched = self.fetch(&mine);
                {
                    let mut inflight = self.inflight.lock();
                    for i in &mine {
                        inflight.remove(i);
                    }
                }
                self.fetched.notify_all();
                for (index, bytes) in mine.into_iter().zip(fetched?) {
                    got.insert(index, Source::Fetched(Arc::new(bytes)));
                }
            }
            if theirs.is_empty() {
                return Ok(got);
            }
            let mut inflight = self.inflight.lock();
            while theirs.iter().any(|i| inflight.contains(i)) {
                self.fetched.wait(&mut inflight);
            }
            // Written by now, unless that fetch or write failed: then fetched here.
            todo = theirs;
        }
    }

    /// Fetches chunks `indices` from the inner store, one request each, in parallel, and
    /// writes each to its file. Separate requests rather than one coalesced range: a large
    /// single GET is one slow stream, while several of the chunk size fill the link.
    fn fetch(&self, indices: &[u64]) -> io::Result<Vec<Vec<u8>>> {
        let one = |index: u64| -> io::Result<Vec<u8>> {
            let (start, len) = self.span(index);
            let bytes = self
                .inner
                .read_ranges(&[(start, len as usize)])?
                .pop()
                .ok_or_else(|| io::Error::other("the store returned no bytes"))?;
            if bytes.len() as u64 != len {
                return Err(io::Error::other(format!(
                    "the store returned {} bytes for a chunk of {len}",
                    bytes.len()
                )));
            }
            self.store_chunk(index, &bytes);
            // Counted once written: `all_local` looks for files again when this count moves.
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            self.counters
                .fetched_bytes
                .fetch_add(len, Ordering::Relaxed);
            Ok(bytes)
        };
        if let [index] = indices {
            return Ok(vec![one(*index)?]);
        }
        let one = &one;
        std::thread::scope(|s| {
            let handles: Vec<_> = indices
                .iter()
                .map(|&index| s.spawn(move || one(index)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }

    /// Writes a fetched chunk to its file (atomically), then keeps the cache within its limit.
    fn store_chunk(&self, index: u64, bytes: &[u8]) {
        let (start, _) = self.span(index);
        let header = chunk::header(start, bytes);
        let name = layout::chunk_name(index);
        let mut result = layout::write_atomic(&self.archive_dir, &name, &[&header, bytes]);
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::NotFound) {
            // `hexz cache clear` removed the directory meanwhile: make it again.
            result = std::fs::create_dir_all(&self.archive_dir)
                .and_then(|()| layout::write_atomic(&self.archive_dir, &name, &[&header, bytes]));
        }
        if result.is_err() {
            self.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Written (above) before it is counted (here), and the count is taken (below) before
        // the scan: a chunk counted after a scan began is seen by the next one.
        let size = (header.len() + bytes.len()) as u64;
        let every = (self.limit / 16).max(1);
        if self.written.fetch_add(size, Ordering::Relaxed) + size >= every {
            let _one = self.evicting.lock();
            let written = self.written.swap(0, Ordering::Relaxed);
            if written >= every {
                let _ = evict::enforce(&self.dir, self.limit);
            } else {
                self.written.fetch_add(written, Ordering::Relaxed);
            }
        }
    }

    /// Fills each buffer of `reqs` with the bytes at its offset, chunk by chunk.
    fn serve(&self, reqs: &mut [(u64, &mut [u8])]) -> io::Result<()> {
        let mut need: Vec<u64> = reqs
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .flat_map(|(off, b)| {
                off / self.chunk_size..=(off + b.len() as u64 - 1) / self.chunk_size
            })
            .collect();
        need.sort_unstable();
        need.dedup();
        for group in need.chunks(BATCH) {
            let mut sources = self.load(group)?;
            for &index in group {
                let mut tries = 0;
                loop {
                    let source = sources
                        .get(&index)
                        .ok_or_else(|| io::Error::other("a chunk was not loaded"))?;
                    match self.copy_out(index, source, reqs) {
                        Ok(()) => break,
                        Err(Bad::Corrupt(_) | Bad::Io(_)) if tries < RETRIES => {
                            // Damaged (or unreadable) since it was opened: drop and refetch.
                            self.discard(index, source);
                            tries += 1;
                            sources.extend(self.load(&[index])?);
                        }
                        Err(Bad::Io(e)) => return Err(e),
                        Err(Bad::Corrupt(why)) => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "{}: cached chunk {index} stays damaged ({why})",
                                    self.inner.describe()
                                ),
                            ))
                        }
                        Err(Bad::Missing) => {
                            return Err(io::Error::other("a cached chunk vanished"));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Copies chunk `index`'s part of every request out of `source`.
    fn copy_out(
        &self,
        index: u64,
        source: &Source,
        reqs: &mut [(u64, &mut [u8])],
    ) -> Result<(), Bad> {
        let (start, len) = self.span(index);
        let end = start + len;
        for (off, buf) in reqs.iter_mut() {
            let (a, b) = (*off, *off + buf.len() as u64);
            let (lo, hi) = (a.max(start), b.min(end));
            if lo < hi {
                source.read(lo - start, &mut buf[(lo - a) as usize..(hi - a) as usize])?;
            }
        }
        Ok(())
    }

    fn check_bounds(&self, offset: u64, len: usize) -> io::Result<()> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: read of {len} bytes at offset {offset} is past the end ({} bytes)",
                    self.inner.describe(),
                    self.len
                ),
            )),
        }
    }
}

impl ReadAt for CachedStore {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.check_bounds(offset, buf.len())?;
        self.serve(&mut [(offset, buf)])
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.len)
    }

    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        for &(off, len) in ranges {
            self.check_bounds(off, len)?;
        }
        let mut out: Vec<Vec<u8>> = ranges.iter().map(|&(_, len)| vec![0; len]).collect();
        let mut reqs: Vec<(u64, &mut [u8])> = ranges
            .iter()
            .zip(out.iter_mut())
            .map(|(&(off, _), b)| (off, b.as_mut_slice()))
            .collect();
        self.serve(&mut reqs)?;
        Ok(out)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn pin(&self) -> Option<Pin> {
        self.inner.pin()
    }

    /// The inner store's answer (true for S3 and HTTP). The core then reads ahead in runs of
    /// up to 8 MiB on 8 threads: on a miss that keeps several chunk fetches in flight, and
    /// on a hit it costs only parallel local reads of files the page cache mostly holds.
    fn is_remote(&self) -> bool {
        self.inner.is_remote()
    }

    /// Whether every chunk of the object has a file in the cache (then reads cost no request
    /// until one is evicted or found damaged). Cheap enough to ask on every read: once all
    /// files were seen the answer is kept until a read finds one missing or damaged, and
    /// until then the files are looked for again only after this handle fetched a chunk or
    /// once a second (for chunks other processes fetch).
    fn all_local(&self) -> bool {
        if self.complete.load(Ordering::Relaxed) {
            return true;
        }
        {
            let misses = self.counters.misses.load(Ordering::Relaxed);
            let mut last = self.local_checked.lock();
            if last.is_some_and(|(t, m)| m == misses && t.elapsed() < LOCAL_RECHECK) {
                return false;
            }
            *last = Some((Instant::now(), misses));
        }
        let chunks = self.len.div_ceil(self.chunk_size);
        let complete = {
            let open = self.open.lock();
            (0..chunks).all(|i| open.contains(&i) || self.chunk_path(i).is_file())
        };
        self.complete.store(complete, Ordering::Relaxed);
        complete
    }

    fn identity(&self) -> Option<String> {
        self.inner.identity()
    }
}
