//! One cached chunk on disk, and its checks.
//!
//! A chunk file is a header and the chunk's bytes:
//!
//! ```text
//! magic "HXZCHNK1" [8] | object offset u64 | length u32 | page size u32 | pages u32 |
//! crc32c of each page u32 × pages | crc32c of everything before it u32 | bytes [length]
//! ```
//!
//! (little-endian). Each page of [`PAGE`] bytes has its own crc32c, checked on every read of
//! it, so a small read checks the pages it touches instead of the whole chunk. The file's
//! length must be exactly the header's plus `length`; a short, long or damaged file is
//! [`Bad::Corrupt`], and the caller deletes and refetches it.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The span each page crc covers.
pub const PAGE: u64 = 64 << 10;
const MAGIC: [u8; 8] = *b"HXZCHNK1";
/// Magic, offset, length, page size, page count.
const FIXED: usize = 28;
/// A chunk in use is marked used again (mtime) at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Why a cached chunk cannot be used.
#[derive(Debug)]
pub enum Bad {
    /// There is no file.
    Missing,
    /// The file is damaged or not the chunk expected (the reason).
    Corrupt(String),
    /// The file could not be read.
    Io(io::Error),
}

fn pages(len: u64) -> u64 {
    len.div_ceil(PAGE)
}

/// The header of the chunk at object offset `offset` holding `data`.
pub fn header(offset: u64, data: &[u8]) -> Vec<u8> {
    let n = pages(data.len() as u64);
    let mut h = Vec::with_capacity(FIXED + 4 * n as usize + 4);
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&offset.to_le_bytes());
    h.extend_from_slice(&(data.len() as u32).to_le_bytes());
    h.extend_from_slice(&(PAGE as u32).to_le_bytes());
    h.extend_from_slice(&(n as u32).to_le_bytes());
    for page in data.chunks(PAGE as usize) {
        h.extend_from_slice(&hexz_format::crc32c(page).to_le_bytes());
    }
    let crc = hexz_format::crc32c(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// An open, header-checked chunk file. Its pages are checked as they are read: each when
/// this handle first reads it, and again after anything changed the file (its ctime moved:
/// chunk files are only ever replaced whole, by rename, so a change in place is damage).
/// Reads of checked pages cost one `fstat` and one `pread` of just their bytes, so small
/// reads do not check a whole page each.
#[derive(Debug)]
pub struct ChunkFile {
    file: File,
    path: PathBuf,
    len: u64,
    data_start: u64,
    crcs: Vec<u32>,
    /// One bit per page: checked by this handle since the file's ctime was `checked_at`.
    checked: Vec<AtomicU64>,
    checked_at: AtomicU64,
    /// Seconds since the epoch of the last mtime update by this handle.
    touched: AtomicU64,
}

impl ChunkFile {
    /// Opens the chunk file at `path`, which must hold `len` bytes at object offset `offset`.
    pub fn open(path: &Path, offset: u64, len: u64) -> Result<ChunkFile, Bad> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Bad::Missing),
            Err(e) => return Err(Bad::Io(e)),
        };
        let file_len = file.metadata().map_err(Bad::Io)?.len();
        let n = pages(len);
        let header_len = FIXED as u64 + 4 * n + 4;
        if file_len != header_len + len {
            return Err(Bad::Corrupt(format!(
                "{file_len} bytes, expected {}",
                header_len + len
            )));
        }
        let mut h = vec![0; header_len as usize];
        read_at(&file, 0, &mut h)?;
        let (body, crc) = h.split_at(h.len() - 4);
        let fields = (
            &body[..8],
            u64::from_le_bytes(body[8..16].try_into().unwrap_or_default()),
            u64::from(u32_at(body, 16)),
            u64::from(u32_at(body, 20)),
            u64::from(u32_at(body, 24)),
        );
        if fields != (&MAGIC[..], offset, len, PAGE, n) {
            return Err(Bad::Corrupt("not the expected chunk's header".into()));
        }
        if hexz_format::crc32c(body) != u32_at(crc, 0) {
            return Err(Bad::Corrupt("header crc32c mismatch".into()));
        }
        let crcs = (0..n as usize)
            .map(|i| u32_at(body, FIXED + 4 * i))
            .collect();
        Ok(ChunkFile {
            file,
            path: path.to_path_buf(),
            len,
            data_start: header_len,
            checked: (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            checked_at: AtomicU64::new(0),
            crcs,
            touched: AtomicU64::new(0),
        })
    }

    /// Forgets the checked pages when the file changed since they were checked.
    fn forget_if_changed(&self) {
        let now = changed_at(&self.file);
        if now == 0 || self.checked_at.swap(now, Ordering::AcqRel) != now {
            for bits in &self.checked {
                bits.store(0, Ordering::Release);
            }
        }
    }

    fn is_checked(&self, page: u64) -> bool {
        self.checked[(page / 64) as usize].load(Ordering::Acquire) & (1 << (page % 64)) != 0
    }

    fn mark_checked(&self, page: u64) {
        self.checked[(page / 64) as usize].fetch_or(1 << (page % 64), Ordering::Release);
    }

    /// Fills `dst` with the chunk's bytes at `at`, checking the crc of every page it touches
    /// that this handle has not checked before.
    pub fn read(&self, at: u64, dst: &mut [u8]) -> Result<(), Bad> {
        if dst.is_empty() {
            return Ok(());
        }
        let end = at + dst.len() as u64;
        debug_assert!(end <= self.len);
        let first = at / PAGE;
        let last = (end - 1) / PAGE;
        self.forget_if_changed();
        if (first..=last).all(|p| self.is_checked(p)) {
            return read_at(&self.file, self.data_start + at, dst);
        }
        let span = first * PAGE..(last * PAGE + PAGE).min(self.len);
        let aligned = span.start == at && span.end == end;
        let mut tmp = Vec::new();
        let buf: &mut [u8] = if aligned {
            dst
        } else {
            tmp.resize((span.end - span.start) as usize, 0);
            &mut tmp
        };
        read_at(&self.file, self.data_start + span.start, buf)?;
        for (i, page) in buf.chunks(PAGE as usize).enumerate() {
            let p = first as usize + i;
            if hexz_format::crc32c(page) != self.crcs[p] {
                return Err(Bad::Corrupt(format!("crc32c mismatch in page {p}")));
            }
            self.mark_checked(p as u64);
        }
        if !aligned {
            let from = (at - span.start) as usize;
            dst.copy_from_slice(&tmp[from..from + dst.len()]);
        }
        Ok(())
    }

    /// Marks the chunk used now (its mtime, which eviction orders by), at most once a minute
    /// per handle. Best effort: a file of another user's cannot be marked.
    pub fn touch(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.touched.load(Ordering::Relaxed);
        if now.saturating_sub(last) < TOUCH_EVERY.as_secs() {
            return;
        }
        self.touched.store(now, Ordering::Relaxed);
        let _ = filetime::set_file_handle_times(&self.file, None, Some(filetime::FileTime::now()));
    }

    /// Deletes the file, unless its name now holds another file (a fresh copy another process
    /// renamed into place since this one was opened).
    pub fn remove(&self) {
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The file's ctime in nanoseconds (0 when unknown: nothing counts as checked then).
#[cfg(unix)]
fn changed_at(file: &File) -> u64 {
    use std::os::unix::fs::MetadataExt;
    file.metadata().map_or(0, |m| {
        (m.ctime() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(m.ctime_nsec() as u64)
            .max(1)
    })
}

#[cfg(not(unix))]
fn changed_at(_file: &File) -> u64 {
    0
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    true
}

/// Reads exactly `buf.len()` bytes at `offset`; a file shorter than that is corrupt.
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> Result<(), Bad> {
    #[cfg(unix)]
    let r = std::os::unix::fs::FileExt::read_exact_at(file, buf, offset);
    #[cfg(windows)]
    let r = {
        use std::os::windows::fs::FileExt;
        let mut done = 0;
        loop {
            if done == buf.len() {
                break Ok(());
            }
            match file.seek_read(&mut buf[done..], offset + done as u64) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        }
    };
    r.map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Bad::Corrupt("shorter than its header says".into()),
        _ => Bad::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, offset: u64, data: &[u8]) -> PathBuf {
        let path = dir.join("c");
        std::fs::write(&path, [header(offset, data), data.to_vec()].concat()).expect("write");
        path
    }

    #[test]
    fn reads_and_checks_pages() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data: Vec<u8> = (0..PAGE * 3 + 100).map(|i| (i * 7 % 251) as u8).collect();
        let path = write(dir.path(), 1 << 30, &data);
        let c = ChunkFile::open(&path, 1 << 30, data.len() as u64).expect("open");
        // Twice: the second pass reads pages this handle has checked, straight into `buf`.
        for pass in 0..2 {
            for (at, n) in [
                (0, 1),
                (0, PAGE),
                (PAGE - 1, 2),
                (5, 3 * PAGE),
                (3 * PAGE, 100),
                (PAGE + 7, 10),
            ] {
                let mut buf = vec![0; n as usize];
                c.read(at, &mut buf).expect("read");
                assert_eq!(buf, &data[at as usize..(at + n) as usize], "pass {pass}");
            }
            assert!((0..4).all(|p| c.is_checked(p)));
        }
        // The wrong offset or length: not this chunk.
        assert!(matches!(
            ChunkFile::open(&path, 0, data.len() as u64),
            Err(Bad::Corrupt(_))
        ));
        assert!(matches!(
            ChunkFile::open(&path, 1 << 30, 5),
            Err(Bad::Corrupt(_))
        ));
        assert!(matches!(
            ChunkFile::open(&dir.path().join("none"), 0, 1),
            Err(Bad::Missing)
        ));
    }

    #[test]
    fn damage_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = vec![9u8; (2 * PAGE) as usize];
        let path = write(dir.path(), 0, &data);
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        let c = ChunkFile::open(&path, 0, data.len() as u64).expect("the header is intact");
        let mut buf = vec![0; 10];
        c.read(0, &mut buf).expect("the first page is intact");
        assert!(matches!(c.read(PAGE, &mut buf), Err(Bad::Corrupt(_))));
        // A damaged page is never marked checked: it stays refused.
        assert!(c.is_checked(0) && !c.is_checked(1));
        assert!(matches!(c.read(PAGE + 5, &mut buf), Err(Bad::Corrupt(_))));
        // A damaged header, a truncated file.
        bytes[last] ^= 1;
        bytes[9] ^= 1;
        std::fs::write(&path, &bytes).expect("write");
        assert!(matches!(
            ChunkFile::open(&path, 0, 2 * PAGE),
            Err(Bad::Corrupt(_))
        ));
        bytes[9] ^= 1;
        std::fs::write(&path, &bytes[..bytes.len() - 1]).expect("write");
        assert!(matches!(
            ChunkFile::open(&path, 0, 2 * PAGE),
            Err(Bad::Corrupt(_))
        ));
    }
}
