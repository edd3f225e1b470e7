//! The page directory (`docs/FORMAT.md` §7.8), extension type 3 of a v2 archive: the index and
//! record page directories moved out of the summary into directory frames of
//! `pages_per_directory` PageRefs each, found through one small frame. The summary then stays
//! the same size however large the archive grows, and a lookup reads one directory frame.

use crate::bytes::{Cursor, Put};
use crate::frame::{FrameKind, PageRef, PAGE_REF_LEN};
use crate::index::BLOCK_ENTRY_LEN;
use crate::record::RECORD_ROW_LEN;
use crate::summary::Summary;
use crate::{Error, Result};

/// Length of the directory's fixed part, before its rows.
pub const PAGE_DIRECTORY_FIXED_LEN: usize = 16;
/// Most PageRefs one directory frame may hold (a frame of at most 4 MiB).
pub const MAX_PAGES_PER_DIRECTORY: u32 = 65_536;

/// Which pages: index pages (blocks) or record pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSet {
    /// Index pages: `first` is a logical offset.
    Index,
    /// Record pages: `first` is a record number.
    Records,
}

impl PageSet {
    /// The kind of the pages' frames.
    pub fn frame_kind(self) -> FrameKind {
        match self {
            PageSet::Index => FrameKind::IndexPage,
            PageSet::Records => FrameKind::RecordPage,
        }
    }

    /// How errors and reports name a directory frame of this set.
    pub fn directory_name(self) -> &'static str {
        match self {
            PageSet::Index => "index page directory",
            PageSet::Records => "record page directory",
        }
    }
}

/// What a run of PageRefs must agree with: the summary's counts (§7).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    /// Which pages.
    pub set: PageSet,
    /// Pages in all.
    pub pages: u32,
    /// Rows of every page but the last.
    pub rows_per_page: u32,
    /// Rows in all (blocks or records).
    pub rows: u64,
    /// The logical stream's length (index pages start before it).
    pub logical_size: u64,
}

impl Paging {
    /// The index pages or record pages `summary` describes.
    pub fn of(summary: &Summary, set: PageSet) -> Paging {
        let (pages, rows_per_page, rows) = match set {
            PageSet::Index => (
                summary.index_page_count,
                summary.entries_per_page,
                summary.block_count,
            ),
            PageSet::Records => (
                summary.record_page_count,
                summary.records_per_page,
                summary.record_count,
            ),
        };
        Paging {
            set,
            pages,
            rows_per_page,
            rows,
            logical_size: summary.logical_size,
        }
    }

    /// Checks `refs`, the PageRefs of pages `first_page ..`, against the summary: each frame is
    /// a page of the right kind and raw length, record page `i` starts at `i ×
    /// records_per_page`, the first index page at 0, `first` increases, and the last page
    /// starts before the end of the stream.
    pub fn check(
        &self,
        refs: &[PageRef],
        first_page: u64,
        data_end: u64,
        encrypted: bool,
    ) -> Result<()> {
        let kind = self.set.frame_kind();
        let unit = self.rows_per_page as u64;
        let mut prev: Option<u64> = None;
        for (j, p) in refs.iter().enumerate() {
            let i = first_page + j as u64;
            p.frame.validate(kind, data_end, encrypted)?;
            let rows = if i + 1 == self.pages as u64 {
                self.rows - i * unit
            } else {
                unit
            };
            let (row_len, what) = match self.set {
                PageSet::Index => (BLOCK_ENTRY_LEN as u64, "index page raw_len"),
                PageSet::Records => (RECORD_ROW_LEN as u64, "record page raw_len"),
            };
            if p.frame.raw_len as u64 != rows * row_len {
                return Err(Error::Invalid {
                    what,
                    value: p.frame.raw_len as u64,
                });
            }
            self.check_first(i, p.first, prev)?;
            prev = Some(p.first);
        }
        Ok(())
    }

    /// The rules on page `i`'s `first`: record page `i` starts at record `i ×
    /// records_per_page`, the first index page at 0 and every one before the end of the
    /// stream, each after the one before (`prev`).
    fn check_first(&self, i: u64, first: u64, prev: Option<u64>) -> Result<()> {
        match self.set {
            PageSet::Records if first != i * self.rows_per_page as u64 => {
                return Err(Error::Inconsistent(format!(
                    "record page {i} starts at record {first}"
                )));
            }
            PageSet::Index if i == 0 && first != 0 => {
                return Err(Error::Inconsistent(
                    "first index page does not start at 0".into(),
                ));
            }
            PageSet::Index if first >= self.logical_size => {
                return Err(Error::Inconsistent(
                    "last index page starts past the end of the stream".into(),
                ));
            }
            _ => {}
        }
        if prev.is_some_and(|q| first <= q) {
            return Err(Error::Inconsistent(format!(
                "{} {i} is out of order",
                self.set.frame_kind().name()
            )));
        }
        Ok(())
    }
}

/// The page directory's own frame: how many pages each directory frame holds, and a PageRef
/// per directory frame whose `first` is that of its first page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageDirectory {
    /// PageRefs per directory frame (every frame but the last of a set is full).
    pub pages_per_directory: u32,
    /// The directory frames of the index pages.
    pub index: Vec<PageRef>,
    /// The directory frames of the record pages.
    pub records: Vec<PageRef>,
}

impl PageDirectory {
    /// The directory frames of `set`.
    pub fn frames(&self, set: PageSet) -> &[PageRef] {
        match set {
            PageSet::Index => &self.index,
            PageSet::Records => &self.records,
        }
    }

    /// The directory frame (its number) that holds page `page`.
    pub fn directory_of(&self, page: u32) -> usize {
        (page / self.pages_per_directory) as usize
    }

    /// The index directory frame that holds logical `offset` (which is inside the stream).
    pub fn index_directory_at(&self, offset: u64) -> usize {
        self.index
            .partition_point(|d| d.first <= offset)
            .saturating_sub(1)
    }

    /// Encodes the directory's frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(
            PAGE_DIRECTORY_FIXED_LEN + PAGE_REF_LEN * (self.index.len() + self.records.len()),
        );
        v.put_u32(self.pages_per_directory);
        v.put_u32(self.index.len() as u32);
        v.put_u32(self.records.len() as u32);
        v.put_zeros(4);
        for d in self.index.iter().chain(&self.records) {
            d.put(&mut v);
        }
        v
    }

    /// Parses and checks the directory's frame of an archive with `summary` (whose inline
    /// page directories are then empty).
    pub fn parse(
        raw: &[u8],
        summary: &Summary,
        data_end: u64,
        encrypted: bool,
    ) -> Result<PageDirectory> {
        let mut c = Cursor::new(raw, "page directory");
        let per = c.u32()?;
        let index_dirs = c.u32()?;
        let record_dirs = c.u32()?;
        c.reserved(4)?;
        if per == 0 || per > MAX_PAGES_PER_DIRECTORY {
            return Err(Error::Limit {
                what: "pages per directory",
                value: per as u64,
                limit: MAX_PAGES_PER_DIRECTORY as u64,
            });
        }
        let mut read = |set: PageSet, count: u32| -> Result<Vec<PageRef>> {
            let paging = Paging::of(summary, set);
            let expected = paging.pages.div_ceil(per);
            if count != expected {
                return Err(Error::Inconsistent(format!(
                    "{}: {count} frames for {} pages of {per}",
                    set.directory_name(),
                    paging.pages
                )));
            }
            if c.remaining() < count as usize * PAGE_REF_LEN {
                return Err(Error::Invalid {
                    what: "page directory length",
                    value: raw.len() as u64,
                });
            }
            let mut dirs = Vec::with_capacity(count as usize);
            for d in 0..count {
                let r = PageRef::read(&mut c)?;
                r.frame
                    .validate(FrameKind::Extension, data_end, encrypted)?;
                let pages = (paging.pages - d * per).min(per);
                if r.frame.raw_len as u64 != pages as u64 * PAGE_REF_LEN as u64 {
                    return Err(Error::Invalid {
                        what: "page directory frame raw_len",
                        value: r.frame.raw_len as u64,
                    });
                }
                dirs.push(r);
            }
            // A directory's `first` is its first page's, under the same rules.
            let mut prev = None;
            for (d, r) in dirs.iter().enumerate() {
                paging.check_first(d as u64 * per as u64, r.first, prev)?;
                prev = Some(r.first);
            }
            Ok(dirs)
        };
        let index = read(PageSet::Index, index_dirs)?;
        let records = read(PageSet::Records, record_dirs)?;
        if c.remaining() != 0 {
            return Err(Error::Invalid {
                what: "page directory length",
                value: raw.len() as u64,
            });
        }
        Ok(PageDirectory {
            pages_per_directory: per,
            index,
            records,
        })
    }

    /// Parses and checks directory frame `d` of `set`: its PageRefs are those of pages
    /// `d × pages_per_directory ..`, the first starts where the directory row says, and the
    /// last starts before the next directory frame's first page.
    pub fn parse_frame(
        &self,
        raw: &[u8],
        set: PageSet,
        d: usize,
        summary: &Summary,
        data_end: u64,
        encrypted: bool,
    ) -> Result<Vec<PageRef>> {
        let dirs = self.frames(set);
        if d >= dirs.len() {
            return Err(Error::Invalid {
                what: "page directory frame number",
                value: d as u64,
            });
        }
        let paging = Paging::of(summary, set);
        let first_page = d as u64 * self.pages_per_directory as u64;
        let mut c = Cursor::new(raw, set.directory_name());
        let mut refs = Vec::with_capacity(raw.len() / PAGE_REF_LEN);
        while c.remaining() > 0 {
            refs.push(PageRef::read(&mut c)?);
        }
        let expected = (paging.pages as u64 - first_page).min(self.pages_per_directory as u64);
        if refs.len() as u64 != expected {
            return Err(Error::Invalid {
                what: "page directory frame length",
                value: raw.len() as u64,
            });
        }
        paging.check(&refs, first_page, data_end, encrypted)?;
        if refs.first().map(|p| p.first) != Some(dirs[d].first) {
            return Err(Error::Inconsistent(format!(
                "{} {d} does not start where the directory says",
                set.directory_name()
            )));
        }
        if let (Some(next), Some(last)) = (dirs.get(d + 1), refs.last()) {
            if last.first >= next.first {
                return Err(Error::Inconsistent(format!(
                    "{} {d} runs past the next one",
                    set.directory_name()
                )));
            }
        }
        Ok(refs)
    }
}

/// Cuts `pages` (the PageRefs of one set, in order) into directory frames of
/// `pages_per_directory`: the raw bytes of each, and the `first` of its first page.
pub fn encode_frames(pages: &[PageRef], pages_per_directory: u32) -> Vec<(Vec<u8>, u64)> {
    pages
        .chunks(pages_per_directory.max(1) as usize)
        .map(|chunk| {
            let mut v = Vec::with_capacity(chunk.len() * PAGE_REF_LEN);
            for p in chunk {
                p.put(&mut v);
            }
            (v, chunk[0].first)
        })
        .collect()
}
