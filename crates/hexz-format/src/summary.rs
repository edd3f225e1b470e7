//! The summary frame (`docs/FORMAT.md` §7).

use crate::bytes::{Cursor, Put};
use crate::extension::{ExtensionRef, EXTENSION_REF_LEN};
use crate::frame::{FrameKind, FrameRef, PageRef, PAGE_REF_LEN};
use crate::{limits, Error, Result};

/// Length of the fixed part of a v1 summary, before the page directories.
pub const SUMMARY_FIXED_LEN: usize = 288;
/// Length of the fixed part of a v2 summary: v1's, then `extension_count u32` and 4 reserved
/// bytes.
pub const SUMMARY_V2_FIXED_LEN: usize = 296;

/// The fixed part's length in format `version`.
pub fn fixed_len(version: u16) -> usize {
    if version >= 2 {
        SUMMARY_V2_FIXED_LEN
    } else {
        SUMMARY_FIXED_LEN
    }
}

/// Everything a reader needs after the footer: counts and the location of every other frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Bytes in the logical stream.
    pub logical_size: u64,
    /// Index entries in total.
    pub block_count: u64,
    /// Index entries per full page.
    pub entries_per_page: u32,
    /// Rows of the entries table.
    pub entry_count: u64,
    /// Rows of the records table.
    pub record_count: u64,
    /// Records per full page.
    pub records_per_page: u32,
    /// Rows of the record groups table.
    pub record_group_count: u32,
    /// Rows of the parents table.
    pub parent_count: u32,
    /// Distinct stored block bytes.
    pub stored_data_bytes: u64,
    /// Entries table.
    pub entries: FrameRef,
    /// User metadata (JSON).
    pub metadata: FrameRef,
    /// Record groups table.
    pub record_groups: FrameRef,
    /// Parents table.
    pub parents: FrameRef,
    /// Index page directory.
    pub index_pages: Vec<PageRef>,
    /// Record page directory.
    pub record_pages: Vec<PageRef>,
    /// The extension table (v2; always empty in v1).
    pub extensions: Vec<ExtensionRef>,
}

/// A frame the summary references, with what it holds.
#[derive(Debug, Clone, Copy)]
pub struct SummaryFrame<'a> {
    /// What the frame holds.
    pub kind: FrameKind,
    /// A page's number, or an extension's type; 0 for a table.
    pub number: u64,
    /// Where it is.
    pub frame: &'a FrameRef,
}

impl SummaryFrame<'_> {
    /// How errors and reports name it: `entries table`, `index page 3`, `extension 1`, ...
    pub fn label(&self) -> String {
        match self.kind {
            FrameKind::IndexPage | FrameKind::RecordPage | FrameKind::Extension => {
                format!("{} {}", self.kind.name(), self.number)
            }
            kind => kind.name().to_string(),
        }
    }
}

impl Summary {
    /// Every frame the summary references: the tables present, the index and record pages,
    /// the extensions (not what those reference in turn, such as entry pages).
    pub fn frames(&self) -> impl Iterator<Item = SummaryFrame<'_>> {
        fn table(kind: FrameKind, frame: &FrameRef) -> SummaryFrame<'_> {
            SummaryFrame {
                kind,
                number: 0,
                frame,
            }
        }
        fn pages(kind: FrameKind, pages: &[PageRef]) -> impl Iterator<Item = SummaryFrame<'_>> {
            pages.iter().enumerate().map(move |(i, p)| SummaryFrame {
                kind,
                number: i as u64,
                frame: &p.frame,
            })
        }
        let tables = [
            table(FrameKind::Entries, &self.entries),
            table(FrameKind::Metadata, &self.metadata),
            table(FrameKind::RecordGroups, &self.record_groups),
            table(FrameKind::Parents, &self.parents),
        ];
        let extensions = self.extensions.iter().map(|x| SummaryFrame {
            kind: FrameKind::Extension,
            number: x.kind.into(),
            frame: &x.frame,
        });
        tables
            .into_iter()
            .filter(|t| !t.frame.is_absent())
            .chain(pages(FrameKind::IndexPage, &self.index_pages))
            .chain(pages(FrameKind::RecordPage, &self.record_pages))
            .chain(extensions)
    }

    /// The frame of the extension of type `kind` (§7.5), if the summary has one.
    pub fn extension(&self, kind: u16) -> Option<FrameRef> {
        self.extensions
            .iter()
            .find(|x| x.kind == kind)
            .map(|x| x.frame)
    }

    /// Encodes the raw summary bytes of format `version` (a v1 summary has no extensions).
    pub fn encode(&self, version: u16) -> Vec<u8> {
        debug_assert!(version >= 2 || self.extensions.is_empty());
        let mut v = Vec::with_capacity(
            fixed_len(version)
                + PAGE_REF_LEN * (self.index_pages.len() + self.record_pages.len())
                + EXTENSION_REF_LEN * self.extensions.len(),
        );
        v.put_u64(self.logical_size);
        v.put_u64(self.block_count);
        v.put_u32(self.index_pages.len() as u32);
        v.put_u32(self.entries_per_page);
        v.put_u64(self.entry_count);
        v.put_u64(self.record_count);
        v.put_u32(self.record_pages.len() as u32);
        v.put_u32(self.records_per_page);
        v.put_u32(self.record_group_count);
        v.put_u32(self.parent_count);
        v.put_u64(self.stored_data_bytes);
        for f in [
            &self.entries,
            &self.metadata,
            &self.record_groups,
            &self.parents,
        ] {
            f.put(&mut v);
        }
        if version >= 2 {
            v.put_u32(self.extensions.len() as u32);
            v.put_zeros(4);
        }
        for p in self.index_pages.iter().chain(&self.record_pages) {
            p.put(&mut v);
        }
        for x in &self.extensions {
            x.put(&mut v);
        }
        v
    }

    /// Parses and validates raw summary bytes of format `version`. `data_end` is the
    /// summary's file offset: every frame must lie before it.
    pub fn parse(raw: &[u8], data_end: u64, encrypted: bool, version: u16) -> Result<Summary> {
        let mut c = Cursor::new(raw, "summary");
        let logical_size = c.u64()?;
        let block_count = c.u64()?;
        let index_page_count = c.u32()?;
        let entries_per_page = c.u32()?;
        let entry_count = c.u64()?;
        let record_count = c.u64()?;
        let record_page_count = c.u32()?;
        let records_per_page = c.u32()?;
        let record_group_count = c.u32()?;
        let parent_count = c.u32()?;
        let stored_data_bytes = c.u64()?;
        let entries = FrameRef::read(&mut c)?;
        let metadata = FrameRef::read(&mut c)?;
        let record_groups = FrameRef::read(&mut c)?;
        let parents = FrameRef::read(&mut c)?;
        let extension_count = if version >= 2 {
            let n = c.u32()?;
            c.reserved(4)?;
            n
        } else {
            0
        };

        if logical_size > limits::MAX_LOGICAL_SIZE {
            return Err(Error::Limit {
                what: "logical_size",
                value: logical_size,
                limit: limits::MAX_LOGICAL_SIZE,
            });
        }
        if parent_count > limits::MAX_PARENTS {
            return Err(Error::Limit {
                what: "parent_count",
                value: parent_count as u64,
                limit: limits::MAX_PARENTS as u64,
            });
        }
        check_paging("index", block_count, entries_per_page, index_page_count)?;
        check_paging("records", record_count, records_per_page, record_page_count)?;
        let dirs = (index_page_count as usize + record_page_count as usize) * PAGE_REF_LEN
            + extension_count.min(limits::MAX_EXTENSIONS) as usize * EXTENSION_REF_LEN;
        if extension_count > limits::MAX_EXTENSIONS {
            return Err(Error::Limit {
                what: "extension_count",
                value: extension_count as u64,
                limit: limits::MAX_EXTENSIONS as u64,
            });
        }
        if raw.len() != fixed_len(version) + dirs {
            return Err(Error::Invalid {
                what: "summary length",
                value: raw.len() as u64,
            });
        }
        let mut read_dir =
            |count: u32, kind: FrameKind, unit: u64, total: u64| -> Result<Vec<PageRef>> {
                let mut pages = Vec::with_capacity(count as usize);
                for i in 0..count as u64 {
                    let p = PageRef::read(&mut c)?;
                    p.frame.validate(kind, data_end, encrypted)?;
                    let rows = if i + 1 == count as u64 {
                        total - i * unit
                    } else {
                        unit
                    };
                    if kind == FrameKind::RecordPage {
                        if p.first != i * unit {
                            return Err(Error::Inconsistent(format!(
                                "record page {i} starts at record {}",
                                p.first
                            )));
                        }
                        if p.frame.raw_len as u64 != rows * 16 {
                            return Err(Error::Invalid {
                                what: "record page raw_len",
                                value: p.frame.raw_len as u64,
                            });
                        }
                    } else if p.frame.raw_len as u64 != rows * crate::index::BLOCK_ENTRY_LEN as u64
                    {
                        return Err(Error::Invalid {
                            what: "index page raw_len",
                            value: p.frame.raw_len as u64,
                        });
                    }
                    if let Some(prev) = pages.last().map(|q: &PageRef| q.first) {
                        if p.first <= prev {
                            return Err(Error::Inconsistent(format!(
                                "{} {i} is out of order",
                                kind.name()
                            )));
                        }
                    }
                    pages.push(p);
                }
                Ok(pages)
            };
        let index_pages = read_dir(
            index_page_count,
            FrameKind::IndexPage,
            entries_per_page as u64,
            block_count,
        )?;
        let record_pages = read_dir(
            record_page_count,
            FrameKind::RecordPage,
            records_per_page as u64,
            record_count,
        )?;
        let extensions = ExtensionRef::read_table(&mut c, extension_count, data_end, encrypted)?;
        if let Some(p) = index_pages.first() {
            if p.first != 0 {
                return Err(Error::Inconsistent(
                    "first index page does not start at 0".into(),
                ));
            }
        }
        if let Some(p) = index_pages.last() {
            if p.first >= logical_size {
                return Err(Error::Inconsistent(
                    "last index page starts past the end of the stream".into(),
                ));
            }
        } else if logical_size != 0 {
            return Err(Error::Inconsistent(
                "non-empty stream without index pages".into(),
            ));
        }
        // v2 entry pages (§7.7) replace the entries table; file attributes then live in them.
        let find = |kind| extensions.iter().any(|x: &ExtensionRef| x.kind == kind);
        let paged = find(crate::extension::types::ENTRY_PAGES);
        if paged && find(crate::extension::types::FILE_ATTRIBUTES) {
            return Err(Error::Inconsistent(
                "file attributes beside entry pages, which hold them".into(),
            ));
        }
        for (f, kind, present) in [
            (&entries, FrameKind::Entries, entry_count > 0 && !paged),
            (&metadata, FrameKind::Metadata, !metadata.is_absent()),
            (
                &record_groups,
                FrameKind::RecordGroups,
                record_group_count > 0,
            ),
            (&parents, FrameKind::Parents, parent_count > 0),
        ] {
            if present {
                f.validate(kind, data_end, encrypted)?;
            } else if !f.is_absent() {
                return Err(Error::Inconsistent(format!(
                    "{} present with zero rows",
                    kind.name()
                )));
            }
        }
        if record_count > 0 && record_group_count == 0 {
            return Err(Error::Inconsistent("records without record groups".into()));
        }
        Ok(Summary {
            logical_size,
            block_count,
            entries_per_page,
            entry_count,
            record_count,
            records_per_page,
            record_group_count,
            parent_count,
            stored_data_bytes,
            entries,
            metadata,
            record_groups,
            parents,
            index_pages,
            record_pages,
            extensions,
        })
    }
}

fn check_paging(what: &'static str, rows: u64, per_page: u32, pages: u32) -> Result<()> {
    if rows == 0 {
        if pages != 0 || per_page != 0 {
            return Err(Error::Inconsistent(format!("{what}: pages without rows")));
        }
        return Ok(());
    }
    if per_page == 0 || per_page > limits::MAX_ROWS_PER_PAGE {
        return Err(Error::Limit {
            what: "rows per page",
            value: per_page as u64,
            limit: limits::MAX_ROWS_PER_PAGE as u64,
        });
    }
    if rows.div_ceil(per_page as u64) != pages as u64 {
        return Err(Error::Inconsistent(format!(
            "{what}: {rows} rows in {pages} pages of {per_page}"
        )));
    }
    Ok(())
}
