//! The summary frame (`docs/FORMAT.md` §7).

use crate::bytes::{Cursor, Put};
use crate::extension::{types, ExtensionRef, EXTENSION_REF_LEN};
use crate::frame::{FrameKind, FrameRef, PageRef, PAGE_REF_LEN};
use crate::page_directory::{PageSet, Paging};
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
    /// Index pages in all.
    pub index_page_count: u32,
    /// Record pages in all.
    pub record_page_count: u32,
    /// The index page directory held in the summary; empty when the archive has a page
    /// directory (§7.8), through which a reader then finds the pages.
    pub index_pages: Vec<PageRef>,
    /// The record page directory held in the summary; empty like `index_pages`.
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
    /// Every frame the summary references: the tables present, the index and record pages it
    /// holds, the extensions (not what those reference in turn, such as entry pages or the
    /// pages behind a page directory).
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

    /// Whether the pages are found through a page directory (§7.8) rather than the summary.
    pub fn has_page_directory(&self) -> bool {
        self.extension(types::PAGE_DIRECTORY).is_some()
    }

    /// Encodes the raw summary bytes of format `version` (a v1 summary has no extensions).
    pub fn encode(&self, version: u16) -> Vec<u8> {
        debug_assert!(version >= 2 || self.extensions.is_empty());
        debug_assert!(
            self.has_page_directory()
                || (self.index_pages.len() == self.index_page_count as usize
                    && self.record_pages.len() == self.record_page_count as usize)
        );
        let mut v = Vec::with_capacity(
            fixed_len(version)
                + PAGE_REF_LEN * (self.index_pages.len() + self.record_pages.len())
                + EXTENSION_REF_LEN * self.extensions.len(),
        );
        v.put_u64(self.logical_size);
        v.put_u64(self.block_count);
        v.put_u32(self.index_page_count);
        v.put_u32(self.entries_per_page);
        v.put_u64(self.entry_count);
        v.put_u64(self.record_count);
        v.put_u32(self.record_page_count);
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
        if extension_count > limits::MAX_EXTENSIONS {
            return Err(Error::Limit {
                what: "extension_count",
                value: extension_count as u64,
                limit: limits::MAX_EXTENSIONS as u64,
            });
        }
        // The extension table is the summary's last bytes, read first: a critical extension
        // may change what the rest holds (§7.8 moves the page directories out), so one this
        // crate does not know is refused before the rest is judged (§7.5).
        let tail = extension_count as usize * EXTENSION_REF_LEN;
        let fixed = fixed_len(version);
        if raw.len() < fixed + tail {
            return Err(Error::Invalid {
                what: "summary length",
                value: raw.len() as u64,
            });
        }
        let mut x = Cursor::new(&raw[raw.len() - tail..], "summary");
        let extensions = ExtensionRef::read_table(&mut x, extension_count, data_end, encrypted)?;
        if let Some(x) = extensions
            .iter()
            .find(|x| x.critical && !types::KNOWN.contains(&x.kind))
        {
            return Err(Error::UnknownCriticalExtension { kind: x.kind });
        }
        let find = |kind| extensions.iter().any(|x: &ExtensionRef| x.kind == kind);
        let directory = find(types::PAGE_DIRECTORY);
        let inline = if directory {
            0
        } else {
            (index_page_count as usize + record_page_count as usize) * PAGE_REF_LEN
        };
        if raw.len() != fixed + inline + tail {
            return Err(Error::Invalid {
                what: "summary length",
                value: raw.len() as u64,
            });
        }
        let mut s = Summary {
            logical_size,
            block_count,
            entries_per_page,
            entry_count,
            record_count,
            records_per_page,
            record_group_count,
            parent_count,
            stored_data_bytes,
            index_page_count,
            record_page_count,
            ..Summary::default()
        };
        if !directory {
            for set in [PageSet::Index, PageSet::Records] {
                let paging = Paging::of(&s, set);
                let mut refs = Vec::with_capacity(paging.pages as usize);
                for _ in 0..paging.pages {
                    refs.push(PageRef::read(&mut c)?);
                }
                paging.check(&refs, 0, data_end, encrypted)?;
                match set {
                    PageSet::Index => s.index_pages = refs,
                    PageSet::Records => s.record_pages = refs,
                }
            }
        }
        if logical_size != 0 && index_page_count == 0 {
            return Err(Error::Inconsistent(
                "non-empty stream without index pages".into(),
            ));
        }
        // v2 entry pages (§7.7) replace the entries table; file attributes then live in them.
        let paged = find(types::ENTRY_PAGES);
        if paged && find(types::FILE_ATTRIBUTES) {
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
        s.entries = entries;
        s.metadata = metadata;
        s.record_groups = record_groups;
        s.parents = parents;
        s.extensions = extensions;
        Ok(s)
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
