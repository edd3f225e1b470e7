//! The archive's tables: index pages (which block holds which logical bytes), record pages,
//! and the entries, record groups and metadata, each loaded on first use and cached.

use super::{Archive, ArchiveState};
use crate::cache::Weigh;
use crate::{Error, Part, Result};
use hexz_format::record::{check_record_lengths, parse_groups, parse_record_page};
use hexz_format::{
    BlockEntry, FrameKind, FrameRef, PageSet, Record, RecordGroup, RequiredFeatures,
};
use parking_lot::Mutex;
use std::sync::Arc;

/// Smallest byte budget of the index page and record page caches.
pub(super) const PAGE_CACHE_MIN: usize = 32 << 20;
/// The most entries (or records) a page may hold (docs/FORMAT.md §7).
pub(super) const MAX_PAGE_ENTRIES: usize = 65_536;

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

    pub(super) fn weight_of(entries: usize) -> usize {
        entries * (std::mem::size_of::<BlockEntry>() + 8) + 64
    }
}
impl Weigh for Arc<Page> {
    fn weight(&self) -> usize {
        Page::weight_of(self.entries.len())
    }
}
pub(super) struct RecordPage(Vec<Record>);
impl RecordPage {
    pub(super) fn weight_of(records: usize) -> usize {
        records * std::mem::size_of::<Record>() + 64
    }
}
impl Weigh for Arc<RecordPage> {
    fn weight(&self) -> usize {
        RecordPage::weight_of(self.0.len())
    }
}

impl Archive {
    /// The user metadata (the bytes of a UTF-8 JSON object), if any.
    pub fn metadata(&self) -> Result<Option<Vec<u8>>> {
        let f = &self.state.summary.metadata;
        if f.is_absent() {
            return Ok(None);
        }
        let json = self.state.read_frame(f, FrameKind::Metadata)?;
        crate::metadata::check(&json).map_err(|why| {
            let part = Part::Frame {
                kind: FrameKind::Metadata.name(),
                offset: f.offset,
            };
            Error::format(
                self.state.place(part),
                hexz_format::Error::Inconsistent(why),
            )
        })?;
        Ok(Some(json))
    }

    /// The record groups (datasets). Loaded on first use.
    pub fn record_groups(&self) -> Result<Arc<[RecordGroup]>> {
        self.state.record_groups()
    }

    /// Number of records.
    pub fn record_count(&self) -> u64 {
        self.state.summary.record_count
    }

    /// Record `i` (O(1): one record page, cached).
    pub fn record(&self, i: u64) -> Result<Record> {
        let s = &self.state.summary;
        if i >= s.record_count {
            return Err(Error::OutOfRange(format!(
                "record {i} of {}",
                s.record_count
            )));
        }
        let per = s.records_per_page as u64;
        let p = (i / per) as u32;
        let page = self.state.record_page(p)?;
        page.0
            .get((i % per) as usize)
            .copied()
            .ok_or_else(|| Error::Integrity {
                place: Box::new(self.state.place(Part::RecordPage { index: p })),
                detail: "too few rows".into(),
            })
    }

    /// Every block entry in logical order, loading index pages one at a time.
    pub fn blocks(&self) -> impl Iterator<Item = Result<BlockEntry>> + '_ {
        (0..self.state.summary.index_page_count).flat_map(move |p| {
            let r: Vec<Result<BlockEntry>> = match self.state.page(p) {
                Ok(page) => page.entries.iter().map(|e| Ok(*e)).collect(),
                Err(e) => vec![Err(e)],
            };
            r
        })
    }
}

impl ArchiveState {
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
        let p = self.index_page_at(offset)?;
        let page = self.page(p)?;
        let i = page.starts.partition_point(|&start| start <= offset) - 1;
        Ok((
            p as u64 * s.entries_per_page as u64 + i as u64,
            page.entries[i],
        ))
    }

    /// The entry of block `idx` (global index).
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

    /// Index page `p`, from the cache or read, checked against the summary and cached.
    pub(crate) fn page(&self, p: u32) -> Result<Arc<Page>> {
        if let Some(pg) = self.pages.get(&p) {
            return Ok(pg);
        }
        let s = &self.summary;
        let pref = self.page_ref(PageSet::Index, p)?;
        let raw = self.read_frame(&pref.frame, FrameKind::IndexPage)?;
        let encrypted = self.header.required.has(RequiredFeatures::ENCRYPTED);
        let entries =
            BlockEntry::parse_page(&raw, pref.first, self.footer.summary_offset, encrypted)
                .map_err(|e| Error::format(self.place(Part::IndexPage { index: p }), e))?;
        let end = entries
            .last()
            .map(|b| b.logical_offset + b.raw_len as u64)
            .unwrap_or(pref.first);
        let expected_end = match p + 1 < s.index_page_count {
            true => self.page_ref(PageSet::Index, p + 1)?.first,
            false => s.logical_size,
        };
        if end != expected_end {
            return Err(Error::format(
                self.place(Part::IndexPage { index: p }),
                hexz_format::Error::Inconsistent(format!(
                    "page ends at {end}, next starts at {expected_end}"
                )),
            ));
        }
        for b in &entries {
            super::open::check_codec(&self.header, b.codec.id(), || {
                self.place(Part::IndexPage { index: p })
            })?;
        }
        // §8: a `PARENT` block needs a thin archive, and one of its parents.
        if let Some(b) = entries.iter().find(|b| b.parent.is_some()) {
            if !self.header.required.has(RequiredFeatures::THIN) {
                return Err(Error::Unsupported(
                    "blocks stored in a parent archive, in an archive not marked thin".into(),
                ));
            }
            if entries
                .iter()
                .any(|b| b.parent.is_some_and(|i| i as usize >= self.parents.len()))
            {
                return Err(Error::format(
                    self.place(Part::IndexPage { index: p }),
                    hexz_format::Error::Inconsistent(format!(
                        "a block in parent {} of {}",
                        b.parent.unwrap_or(0),
                        self.parents.len()
                    )),
                ));
            }
        }
        let pg = Arc::new(Page::new(entries));
        self.pages.insert(p, pg.clone());
        Ok(pg)
    }

    /// The record groups table, loaded on first use.
    fn record_groups(&self) -> Result<Arc<[RecordGroup]>> {
        let s = &self.summary;
        self.table(
            &self.groups,
            s.record_group_count > 0,
            &s.record_groups,
            FrameKind::RecordGroups,
            |raw| parse_groups(raw, s.record_group_count, s.record_count),
        )
    }

    /// Record page `p` (the caller checked that it exists), from the cache or read. Its
    /// records' lengths are checked against their groups' shapes (§7.4).
    fn record_page(&self, p: u32) -> Result<Arc<RecordPage>> {
        if let Some(pg) = self.record_pages.get(&p) {
            return Ok(pg);
        }
        let s = &self.summary;
        let pref = self.page_ref(PageSet::Records, p)?;
        let raw = self.read_frame(&pref.frame, FrameKind::RecordPage)?;
        let groups = self.record_groups()?;
        let recs = parse_record_page(&raw, s.logical_size)
            .and_then(|recs| check_record_lengths(&recs, pref.first, &groups).map(|()| recs))
            .map_err(|e| Error::format(self.place(Part::RecordPage { index: p }), e))?;
        let pg = Arc::new(RecordPage(recs));
        self.record_pages.insert(p, pg.clone());
        Ok(pg)
    }

    /// A table loaded whole on first use and kept in `slot`: empty when not `present`.
    pub(super) fn table<T>(
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
                .map_err(|e| {
                    let part = Part::Frame {
                        kind: kind.name(),
                        offset: frame.offset,
                    };
                    Error::format(self.place(part), e)
                })?
                .into()
        } else {
            Arc::from(Vec::new())
        };
        *slot = Some(table.clone());
        Ok(table)
    }
}
