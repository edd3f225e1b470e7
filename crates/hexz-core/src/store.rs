//! Storage behind an archive: the [`ReadAt`] trait and its local implementations.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Random-access, read-only storage of one archive's bytes.
///
/// Implementations must be safe to call from many threads at once. Remote stores (S3, HTTP)
/// implement this trait in their own crate; every implementation runs [`crate::conformance`].
pub trait ReadAt: Send + Sync {
    /// Fills `buf` with the bytes at `offset`; reading past the end is `UnexpectedEof`.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Total length in bytes.
    fn len(&self) -> io::Result<u64>;

    /// Whether the store holds no bytes.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Reads several ranges; stores with per-request latency override this to coalesce.
    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        ranges
            .iter()
            .map(|&(off, len)| {
                let mut buf = vec![0; len];
                self.read_exact_at(off, &mut buf)?;
                Ok(buf)
            })
            .collect()
    }

    /// Reads small ranges lying far apart (an archive's index and record pages) at once,
    /// each by itself: unlike [`ReadAt::read_ranges`], a store never merges them with the
    /// bytes in between.
    fn read_sparse(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        self.read_ranges(ranges)
    }

    /// A short name for error messages (a path or URL).
    fn describe(&self) -> String;

    /// Whether each request costs a network round trip (S3, HTTP). Readers of such a store
    /// keep many MiB of read-ahead in flight, in a few large requests rather than one per block.
    fn is_remote(&self) -> bool {
        false
    }

    /// Whether all of the store's bytes can be read now without a network request: true for
    /// a local store, and for a remote one behind a disk cache that holds all of it. Readers
    /// that hide latency with large read-ahead requests can then read as from a local file.
    fn all_local(&self) -> bool {
        !self.is_remote()
    }

    /// A string that names exactly these bytes, for caches that keep copies of remote objects
    /// (`hexz-cache`): two stores with the same identity hold the same bytes, and a store whose
    /// object was replaced has a new one. Remote stores build it from the URL, the ETag pinned
    /// at open and the length. `None` (the default) when the store cannot promise that; such a
    /// store is never cached.
    fn identity(&self) -> Option<String> {
        None
    }

    /// All of the store's bytes as one slice, when they are memory-mapped
    /// ([`FileStore::open_mapped`]): readers may then hand out views of blocks stored raw
    /// instead of copying them.
    fn mapped(&self) -> Option<&[u8]> {
        None
    }

    /// Unmaps from this process the pages of the memory map it has touched, which otherwise
    /// count toward its resident memory (PSS) until the archive is closed. The pages stay in
    /// the page cache and every view stays valid: a later access maps the page again from the
    /// file. A no-op for stores without a map.
    fn release_mapped(&self) {}

    /// The length and ETag a remote store pinned when it was opened, so that another process
    /// can reopen the same object without a request (`hexz_store::open_url_pinned`). `None`
    /// for local stores, which cost no request to open.
    fn pin(&self) -> Option<Pin> {
        None
    }
}

/// A remote object as it was when first opened: its length and ETag. A store reopened from a
/// pin sends no request to open and sends `If-Match` on the ETag with every GET, so an object
/// replaced in between is an error at the first read, as for any pinned store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The object's length in bytes.
    pub len: u64,
    /// Its ETag, when the server sent one.
    pub etag: Option<String>,
}

/// A local file read with positioned reads (`pread`), no shared cursor; optionally also
/// mapped read-only into memory for zero-copy views ([`FileStore::open_mapped`]).
pub struct FileStore {
    file: File,
    len: u64,
    path: PathBuf,
    bytes_read: AtomicU64,
    map: Option<memmap2::Mmap>,
}

impl FileStore {
    /// Opens `path` for reading.
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileStore> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory",
            ));
        }
        Ok(FileStore {
            len: meta.len(),
            file,
            path,
            bytes_read: AtomicU64::new(0),
            map: None,
        })
    }

    /// Opens `path` and also maps it read-only into memory, so that raw blocks can be served
    /// as views of it ([`ReadAt::mapped`]); reads still use `pread`.
    ///
    /// The file must not shrink while it is open: a truncated mapping faults (`SIGBUS`) on
    /// access. Hexz's own writers never change an archive in place (they rename a new file
    /// over it, which leaves the mapped inode intact); `hexz sign --in-place` appends only.
    pub fn open_mapped(path: impl AsRef<Path>) -> io::Result<FileStore> {
        let mut store = FileStore::open(path)?;
        if store.len > 0 {
            // SAFETY: the map is read-only and private to this store; the one hazard, the
            // file shrinking under it, is documented above (memmap2's contract).
            store.map = Some(unsafe { memmap2::Mmap::map(&store.file)? });
        }
        Ok(store)
    }

    /// Bytes read through this store so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }
}

impl ReadAt for FileStore {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past end of file",
            ));
        }
        self.bytes_read
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        // Positioned reads even when mapped: a copy through the map faults each page in and
        // charges it to this process (PSS), where `pread` copies from the page cache; the map
        // is only for the blocks served in place (`mapped`).
        pread_exact(&self.file, offset, buf)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.len)
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn mapped(&self) -> Option<&[u8]> {
        self.map.as_deref()
    }

    #[cfg(unix)]
    fn release_mapped(&self) {
        if let Some(map) = &self.map {
            // SAFETY: MADV_DONTNEED on a read-only shared file mapping only drops page-table
            // entries: the next access refaults the same bytes from the file (they cannot be
            // lost, as they would be in a private writable mapping). Failure only leaves the
            // pages mapped, so it is ignored.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

#[cfg(unix)]
fn pread_exact(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn pread_exact(file: &File, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read")),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bytes held in memory; for tests, fuzzing and small embedded archives.
#[derive(Clone)]
pub struct MemStore {
    data: Arc<[u8]>,
}

impl MemStore {
    /// Wraps `data`.
    pub fn new(data: impl Into<Arc<[u8]>>) -> MemStore {
        MemStore { data: data.into() }
    }
}

impl ReadAt for MemStore {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.data.len() as u64)
    }

    fn describe(&self) -> String {
        format!("<memory, {} bytes>", self.data.len())
    }
}

fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "read past end")
}
