//! Finding index and record pages: in the summary, or through the page directory
//! (`docs/FORMAT.md` §7.8), whose own frame and directory frames are read on first use and
//! kept. Every lookup of a page's PageRef goes through here, so no other code cares which.

use super::ArchiveState;
use crate::cache::{Cache, Weigh};
use crate::{Error, Part, Result};
use hexz_format::extension::types::PAGE_DIRECTORY;
use hexz_format::frame::PAGE_REF_LEN;
use hexz_format::page_directory::MAX_PAGES_PER_DIRECTORY;
use hexz_format::{FrameKind, FrameRef, PageDirectory, PageRef, PageSet, RequiredFeatures};
use parking_lot::Mutex;
use std::sync::Arc;

/// Byte budget of the directory frames kept: sixteen of the largest, or every directory frame
/// of a 10 TiB archive written with `hexz`'s defaults.
const DIRECTORY_CACHE_BYTES: usize = 16 * MAX_PAGES_PER_DIRECTORY as usize * PAGE_REF_LEN;

/// The page directory of an open archive, when it has one: its frame, read on first use, and
/// the directory frames read so far.
pub(super) struct PageDirs {
    top: Mutex<Option<Arc<PageDirectory>>>,
    frames: Cache<(bool, u32), DirectoryFrame>,
}

impl Default for PageDirs {
    fn default() -> Self {
        PageDirs {
            top: Mutex::new(None),
            frames: Cache::new(
                DIRECTORY_CACHE_BYTES,
                MAX_PAGES_PER_DIRECTORY as usize * PAGE_REF_LEN,
            ),
        }
    }
}

/// What [`ArchiveState::directory_frames`] found: the frames, and the directory frames it
/// could not read.
#[derive(Default)]
pub(crate) struct DirectoryFrames {
    pub(crate) frames: Vec<(FrameRef, FrameKind, String)>,
    pub(crate) problems: Vec<String>,
}

/// The PageRefs of one directory frame.
#[derive(Clone)]
struct DirectoryFrame(Arc<[PageRef]>);
impl Weigh for DirectoryFrame {
    fn weight(&self) -> usize {
        self.0.len() * std::mem::size_of::<PageRef>() + 64
    }
}

impl ArchiveState {
    /// Pages of `set` in all.
    pub(crate) fn page_count(&self, set: PageSet) -> u32 {
        match set {
            PageSet::Index => self.summary.index_page_count,
            PageSet::Records => self.summary.record_page_count,
        }
    }

    /// Where page `p` of `set` is.
    pub(crate) fn page_ref(&self, set: PageSet, p: u32) -> Result<PageRef> {
        if p >= self.page_count(set) {
            return Err(Error::OutOfRange(format!(
                "{} {p} of {}",
                set.frame_kind().name(),
                self.page_count(set)
            )));
        }
        let Some(top) = self.page_directory()? else {
            let inline = match set {
                PageSet::Index => &self.summary.index_pages,
                PageSet::Records => &self.summary.record_pages,
            };
            return Ok(inline[p as usize]);
        };
        let d = top.directory_of(p);
        let refs = self.directory_frame(&top, set, d)?;
        Ok(refs.0[(p - d as u32 * top.pages_per_directory) as usize])
    }

    /// The number of the index page that holds logical `offset` (inside the stream).
    pub(crate) fn index_page_at(&self, offset: u64) -> Result<u32> {
        let within = |refs: &[PageRef]| refs.partition_point(|pg| pg.first <= offset).max(1) - 1;
        let Some(top) = self.page_directory()? else {
            return Ok(within(&self.summary.index_pages) as u32);
        };
        let d = top.index_directory_at(offset);
        let refs = self.directory_frame(&top, PageSet::Index, d)?;
        Ok(d as u32 * top.pages_per_directory + within(&refs.0) as u32)
    }

    /// Every PageRef of `set`, in order (reads every directory frame of a page directory).
    pub(crate) fn page_refs(&self, set: PageSet) -> Result<Vec<PageRef>> {
        let Some(top) = self.page_directory()? else {
            return Ok(match set {
                PageSet::Index => self.summary.index_pages.clone(),
                PageSet::Records => self.summary.record_pages.clone(),
            });
        };
        let mut out = Vec::with_capacity(self.page_count(set) as usize);
        for d in 0..top.frames(set).len() {
            out.extend_from_slice(&self.directory_frame(&top, set, d)?.0);
        }
        Ok(out)
    }

    /// The frames of the page directory and of the pages behind it, each with its kind and
    /// name, for `verify`; empty when the summary holds the pages (it lists those itself).
    /// A directory frame that cannot be read is a problem, and its pages are left out.
    pub(crate) fn directory_frames(&self) -> Result<DirectoryFrames> {
        let mut out = DirectoryFrames::default();
        let Some(top) = self.page_directory()? else {
            return Ok(out);
        };
        for set in [PageSet::Index, PageSet::Records] {
            let kind = set.frame_kind();
            for (d, r) in top.frames(set).iter().enumerate() {
                let name = format!("{} {d}", set.directory_name());
                out.frames.push((r.frame, FrameKind::Extension, name));
                match self.directory_frame(&top, set, d) {
                    Ok(refs) => {
                        let first = d * top.pages_per_directory as usize;
                        for (j, p) in refs.0.iter().enumerate() {
                            let name = format!("{} {}", kind.name(), first + j);
                            out.frames.push((p.frame, kind, name));
                        }
                    }
                    Err(e) => out.problems.push(e.to_string()),
                }
            }
        }
        Ok(out)
    }

    /// The page directory's frame (§7.8), read on first use; `None` when the summary holds
    /// the pages.
    pub(crate) fn page_directory(&self) -> Result<Option<Arc<PageDirectory>>> {
        let Some(frame) = self.summary.extension(PAGE_DIRECTORY) else {
            return Ok(None);
        };
        let mut slot = self.page_dirs.top.lock();
        if let Some(top) = &*slot {
            return Ok(Some(top.clone()));
        }
        let raw = self.read_frame_named(&frame, FrameKind::Extension, "page directory")?;
        let top = PageDirectory::parse(
            &raw,
            &self.summary,
            self.footer.summary_offset,
            self.is_encrypted(),
        )
        .map_err(|e| {
            let part = Part::Frame {
                kind: "page directory",
                offset: frame.offset,
            };
            Error::format(self.place(part), e)
        })?;
        let top = Arc::new(top);
        *slot = Some(top.clone());
        Ok(Some(top))
    }

    /// Directory frame `d` of `set`, from the cache or read and checked.
    fn directory_frame(
        &self,
        top: &PageDirectory,
        set: PageSet,
        d: usize,
    ) -> Result<DirectoryFrame> {
        let key = (set == PageSet::Index, d as u32);
        if let Some(f) = self.page_dirs.frames.get(&key) {
            return Ok(f);
        }
        let frame = top.frames(set)[d].frame;
        let raw = self.read_frame_named(&frame, FrameKind::Extension, set.directory_name())?;
        let refs = top
            .parse_frame(
                &raw,
                set,
                d,
                &self.summary,
                self.footer.summary_offset,
                self.is_encrypted(),
            )
            .map_err(|e| {
                let part = Part::Frame {
                    kind: set.directory_name(),
                    offset: frame.offset,
                };
                Error::format(self.place(part), e)
            })?;
        let f = DirectoryFrame(refs.into());
        self.page_dirs.frames.insert(key, f.clone());
        Ok(f)
    }

    fn is_encrypted(&self) -> bool {
        self.header.required.has(RequiredFeatures::ENCRYPTED)
    }
}
