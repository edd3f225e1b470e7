//! Finishing an archive: the last blocks and pages, the entries, record groups and metadata
//! tables, the summary, the signature and the footer, then the atomic commit.

use super::{ArchiveWriter, WriteReport, RECORDS_PER_PAGE};
use crate::{Action, Error, Part, Place, Result};
use hexz_format::attrs::encode_attrs;
use hexz_format::entry::encode_entries;
use hexz_format::entry_pages::{encode_dir, encode_page, EntryPageDir, EntryPageRef};
use hexz_format::footer::Footer;
use hexz_format::frame::FrameRef;
use hexz_format::page_directory::encode_frames;
use hexz_format::record::encode_groups;
use hexz_format::{
    Entry, ExtensionRef, FileAttrs, FrameKind, PageDirectory, PageRef, Summary, VERSION,
};

impl ArchiveWriter {
    /// Writes the tables, summary and footer and commits the sink atomically.
    pub fn finish(mut self) -> Result<WriteReport> {
        self.cut_block()?;
        self.flush_batch()?;
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
        let entries_sorted = std::mem::take(&mut self.entries);
        let attrs = self.attrs_table(&entries_sorted);
        let mut extensions = Vec::new();
        let paged = entries_sorted.len() > self.opts.entry_page_rows as usize;
        let entries = match (entries_sorted.is_empty(), paged) {
            (true, _) => FrameRef::default(),
            (false, false) => {
                self.write_frame(&encode_entries(&entries_sorted), FrameKind::Entries)?
            }
            (false, true) => {
                let dir = self.write_entry_pages(&entries_sorted, attrs.as_deref())?;
                extensions.push(dir);
                FrameRef::default()
            }
        };
        let groups = match self.groups.is_empty() {
            true => FrameRef::default(),
            false => self.write_frame(&encode_groups(&self.groups), FrameKind::RecordGroups)?,
        };
        let parents = match &self.parent {
            Some(p) => self.write_frame(&p.table(), FrameKind::Parents)?,
            None => FrameRef::default(),
        };
        let metadata = match self.metadata.take() {
            Some(m) => self.write_frame(&m, FrameKind::Metadata)?,
            None => FrameRef::default(),
        };
        if let (Some(attrs), false) = (&attrs, paged) {
            let frame = self.write_frame(&encode_attrs(attrs), FrameKind::Extension)?;
            extensions.push(ExtensionRef {
                kind: hexz_format::extension::types::FILE_ATTRIBUTES,
                critical: false,
                frame,
            });
        }
        self.entries = entries_sorted;
        let index_pages = std::mem::take(&mut self.index_pages);
        let record_pages = std::mem::take(&mut self.record_pages);
        let (index_page_count, record_page_count) =
            (index_pages.len() as u32, record_pages.len() as u32);
        let (index_pages, record_pages) =
            if index_pages.len() + record_pages.len() > self.opts.pages_in_summary as usize {
                extensions.push(self.write_page_directory(&index_pages, &record_pages)?);
                (Vec::new(), Vec::new())
            } else {
                (index_pages, record_pages)
            };
        extensions.sort_by_key(|x| x.kind);
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
            parent_count: self.parent.is_some() as u32,
            stored_data_bytes: self.stored_bytes,
            entries,
            metadata,
            record_groups: groups,
            parents,
            index_page_count,
            record_page_count,
            index_pages,
            record_pages,
            extensions,
        };
        let (sref, summary_stored) =
            self.write_frame_stored(&summary.encode(VERSION), FrameKind::Summary)?;
        #[cfg(feature = "signing")]
        let signature_offset = match self.opts.signing_key.clone() {
            Some(key) => {
                let root = crate::sign::root_hash(&self.header, &summary_stored);
                let at = self.pos;
                self.write(&key.sign_root(&root).encode(VERSION))?;
                Some(at)
            }
            None => None,
        };
        #[cfg(not(feature = "signing"))]
        let signature_offset = None;
        drop(summary_stored);
        let footer = Footer {
            version: VERSION,
            summary_offset: sref.offset,
            summary_stored_len: sref.stored_len,
            summary_raw_len: sref.raw_len,
            summary_codec: sref.codec().map_err(|e| {
                let part = Part::Frame {
                    kind: FrameKind::Summary.name(),
                    offset: sref.offset,
                };
                Error::format(Place::new(self.sink.describe(), part), e)
            })?,
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
            .map_err(|e| Error::io(Action::Commit, Place::whole(name), e))?;
        Ok(report)
    }
}

impl ArchiveWriter {
    /// Writes `entries` (sorted) as entry pages of `entry_page_rows` rows, each with its rows'
    /// attributes when there are any, then their directory (§7.7); returns the directory's
    /// extension row, critical: a reader that does not know it would see no entries.
    fn write_entry_pages(
        &mut self,
        entries: &[Entry],
        attrs: Option<&[FileAttrs]>,
    ) -> Result<ExtensionRef> {
        let per = self.opts.entry_page_rows as usize;
        let mut pages = Vec::with_capacity(entries.len().div_ceil(per));
        for (i, chunk) in entries.chunks(per).enumerate() {
            let rows = attrs
                .map(|a| &a[i * per..i * per + chunk.len()])
                .filter(|a| a.iter().any(|r| !r.is_empty()));
            let frame = self.write_frame(&encode_page(chunk, rows), FrameKind::Extension)?;
            pages.push(EntryPageRef {
                frame,
                first_row: (i * per) as u64,
                first_path: chunk[0].path.clone(),
            });
        }
        let dir = EntryPageDir {
            rows_per_page: per as u32,
            pages,
        };
        let frame = self.write_frame(&encode_dir(&dir), FrameKind::Extension)?;
        Ok(ExtensionRef {
            kind: hexz_format::extension::types::ENTRY_PAGES,
            critical: true,
            frame,
        })
    }

    /// Writes the page directory (§7.8): the PageRefs of the index and record pages in
    /// directory frames of `pages_per_directory`, then the frame listing those; returns its
    /// extension row, critical: a reader that does not know it would find no pages.
    fn write_page_directory(
        &mut self,
        index_pages: &[PageRef],
        record_pages: &[PageRef],
    ) -> Result<ExtensionRef> {
        let per = self.opts.pages_per_directory;
        let mut sets = [Vec::new(), Vec::new()];
        for (pages, out) in [index_pages, record_pages].into_iter().zip(&mut sets) {
            for (raw, first) in encode_frames(pages, per) {
                let frame = self.write_frame(&raw, FrameKind::Extension)?;
                out.push(PageRef { frame, first });
            }
        }
        let [index, records] = sets;
        let dir = PageDirectory {
            pages_per_directory: per,
            index,
            records,
        };
        let frame = self.write_frame(&dir.encode(), FrameKind::Extension)?;
        Ok(ExtensionRef {
            kind: hexz_format::extension::types::PAGE_DIRECTORY,
            critical: true,
            frame,
        })
    }
}
