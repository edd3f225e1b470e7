//! The entries of an archive and their file attributes: one entries table (§7.2) and one
//! file attributes frame (§7.6), or, in a v2 archive with many entries, entry pages (§7.7)
//! that hold both, found through a directory of first paths. Loaded whole on first use;
//! a lookup by path in a paged archive reads the directory and one page.

use super::{Archive, ArchiveState};
use crate::{Error, Part, Result};
use hexz_format::attrs::parse_attrs;
use hexz_format::entry::parse_entries;
use hexz_format::entry_pages::{parse_dir, parse_page, EntryPageDir};
use hexz_format::extension::types::{ENTRY_PAGES, FILE_ATTRIBUTES};
use hexz_format::{Entry, FileAttrs, FrameKind, FrameRef};
use std::sync::Arc;

impl Archive {
    /// All entries, sorted by path. Loaded on first use.
    pub fn entries(&self) -> Result<Arc<[Entry]>> {
        let st = &self.state;
        if let Some(dir) = st.entry_page_dir()? {
            return st.load_pages(&dir).map(|(e, _)| e);
        }
        let s = &st.summary;
        let version = st.header.version;
        st.table(
            &st.entries,
            s.entry_count > 0,
            &s.entries,
            FrameKind::Entries,
            |raw| parse_entries(raw, s.entry_count, s.logical_size, version),
        )
    }

    /// Looks up an entry by path (binary search; in a paged archive, one page is read).
    pub fn entry(&self, path: &str) -> Result<Option<Entry>> {
        let path = path.trim_start_matches("./").trim_end_matches('/');
        if let Some(dir) = self.state.entry_page_dir()? {
            if self.state.entries.lock().is_none() {
                let Some(p) = dir.page_of(path) else {
                    return Ok(None);
                };
                let entries = self.state.cached_page(&dir, p)?;
                return Ok(find(&entries, path).map(|i| entries[i].clone()));
            }
        }
        let entries = self.entries()?;
        Ok(find(&entries, path).map(|i| entries[i].clone()))
    }

    /// The file attributes of the entries (`docs/FORMAT.md` §7.6), in [`entries`]' order:
    /// owners, times, device numbers, hard links, extended attributes. Empty when the archive
    /// records none (every v1 archive). Loaded on first use.
    ///
    /// [`entries`]: Archive::entries
    pub fn file_attrs(&self) -> Result<Arc<[FileAttrs]>> {
        let st = &self.state;
        if let Some(dir) = st.entry_page_dir()? {
            return st.load_pages(&dir).map(|(_, a)| a);
        }
        let s = &st.summary;
        let ext = s.extension(FILE_ATTRIBUTES);
        let frame = ext.unwrap_or_default();
        st.table(
            &st.attrs,
            ext.is_some(),
            &frame,
            FrameKind::Extension,
            |raw| parse_attrs(raw, s.entry_count),
        )
    }

    /// The frames of a paged archive's entry pages (§7.7), which the summary reaches only
    /// through the directory; empty when the archive is not paged. `verify` checks them.
    pub fn entry_page_frames(&self) -> Result<Vec<FrameRef>> {
        Ok(self
            .state
            .entry_page_dir()?
            .map(|d| d.pages.iter().map(|p| p.frame).collect())
            .unwrap_or_default())
    }

    /// The attributes of entry `path`, when the archive records any.
    pub fn file_attrs_of(&self, path: &str) -> Result<Option<FileAttrs>> {
        let attrs = self.file_attrs()?;
        if attrs.is_empty() {
            return Ok(None);
        }
        let entries = self.entries()?;
        let path = path.trim_start_matches("./").trim_end_matches('/');
        Ok(find(&entries, path).map(|i| attrs[i].clone()))
    }
}

/// The entries and their attributes (empty when none are recorded), in table order.
type Loaded = (Arc<[Entry]>, Arc<[FileAttrs]>);

fn find(entries: &[Entry], path: &str) -> Option<usize> {
    entries
        .binary_search_by(|e| e.path.as_bytes().cmp(path.as_bytes()))
        .ok()
}

impl ArchiveState {
    /// The entry page directory of a paged archive (read once), or `None`.
    fn entry_page_dir(&self) -> Result<Option<Arc<EntryPageDir>>> {
        let Some(frame) = self.summary.extension(ENTRY_PAGES) else {
            return Ok(None);
        };
        let mut slot = self.entry_dir.lock();
        if let Some(d) = &*slot {
            return Ok(Some(d.clone()));
        }
        let raw = self.read_frame(&frame, FrameKind::Extension)?;
        let encrypted = self.crypt.is_some();
        let dir = parse_dir(
            &raw,
            self.summary.entry_count,
            self.footer.summary_offset,
            encrypted,
        )
        .map_err(|e| Error::format(self.place(frame_part(&frame)), e))?;
        let dir = Arc::new(dir);
        *slot = Some(dir.clone());
        Ok(Some(dir))
    }

    /// Page `p`'s entries, kept as the last page looked up: lookups in path order (a listing,
    /// an extraction) read each page once.
    fn cached_page(&self, dir: &EntryPageDir, p: usize) -> Result<Arc<[Entry]>> {
        let mut last = self.last_entry_page.lock();
        if let Some((q, entries)) = &*last {
            if *q == p {
                return Ok(entries.clone());
            }
        }
        let (entries, _) = self.page_of_entries(dir, p)?;
        let entries: Arc<[Entry]> = entries.into();
        *last = Some((p, entries.clone()));
        Ok(entries)
    }

    /// Page `p`'s entries and attributes.
    fn page_of_entries(
        &self,
        dir: &EntryPageDir,
        p: usize,
    ) -> Result<(Vec<Entry>, Vec<FileAttrs>)> {
        let page = &dir.pages[p];
        super::open::check_codec(&self.header, page.frame.codec, || {
            self.place(frame_part(&page.frame))
        })?;
        let raw = self.read_frame(&page.frame, FrameKind::Extension)?;
        let rows = dir.rows_of(p, self.summary.entry_count);
        parse_page(
            &raw,
            rows,
            &page.first_path,
            self.summary.logical_size,
            self.header.version,
        )
        .map_err(|e| Error::format(self.place(frame_part(&page.frame)), e))
    }

    /// Every page, read once into the entries and attributes slots; pages must continue each
    /// other's path order.
    fn load_pages(&self, dir: &EntryPageDir) -> Result<Loaded> {
        let mut entries_slot = self.entries.lock();
        let mut attrs_slot = self.attrs.lock();
        if let (Some(e), Some(a)) = (&*entries_slot, &*attrs_slot) {
            return Ok((e.clone(), a.clone()));
        }
        // Grown page by page: memory follows the bytes read, not the summary's count (§14).
        let mut entries: Vec<Entry> = Vec::new();
        // Each page's attributes where it has some; none at all means the archive has none.
        let mut page_attrs: Vec<(usize, Vec<FileAttrs>)> = Vec::new();
        for p in 0..dir.pages.len() {
            let (e, a) = self.page_of_entries(dir, p)?;
            if let (Some(last), Some(first)) = (entries.last(), e.first()) {
                if last.path.as_bytes() >= first.path.as_bytes() {
                    let e = hexz_format::Error::Inconsistent(format!(
                        "entry page {p} does not continue the path order"
                    ));
                    return Err(Error::format(
                        self.place(frame_part(&dir.pages[p].frame)),
                        e,
                    ));
                }
            }
            if !a.is_empty() {
                page_attrs.push((entries.len(), a));
            }
            entries.extend(e);
        }
        let mut attrs: Vec<FileAttrs> = Vec::new();
        if !page_attrs.is_empty() {
            attrs.resize(entries.len(), FileAttrs::default());
            for (at, a) in page_attrs {
                for (i, row) in a.into_iter().enumerate() {
                    attrs[at + i] = row;
                }
            }
        }
        let (entries, attrs): Loaded = (entries.into(), attrs.into());
        *entries_slot = Some(entries.clone());
        *attrs_slot = Some(attrs.clone());
        Ok((entries, attrs))
    }
}

fn frame_part(f: &FrameRef) -> Part {
    Part::Frame {
        kind: FrameKind::Extension.name(),
        offset: f.offset,
    }
}
