//! The metadata bytes an archive has read from a remote store — header, tail, tables, index
//! and record pages — kept as stored, so that another process (a DataLoader worker) can reopen
//! the archive without asking the store for any of them again ([`Archive::reopen_state`]).
//! The bytes are checked as they are decoded, exactly as if they had just been fetched.

use super::{Archive, ArchiveState};
use crate::store::{Pin, ReadAt};
use crate::{Action, Error, Part, Result};
use hexz_format::extension::types::PAGE_DIRECTORY;
use hexz_format::{FrameRef, PageSet};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most stored metadata bytes one archive keeps: the pages of tens of millions of records.
pub const HELD_BUDGET: usize = 64 << 20;

/// Byte ranges of an archive file by offset: what an open archive read of its metadata.
#[derive(Clone, Default)]
pub struct HeldMetadata(pub Vec<(u64, Arc<[u8]>)>);

impl std::fmt::Debug for HeldMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: usize = self.0.iter().map(|(_, b)| b.len()).sum();
        write!(f, "HeldMetadata({} ranges, {bytes} bytes)", self.0.len())
    }
}

/// What reopens an archive in another process without a request to its store: the remote
/// object's pin (length and ETag) and the metadata bytes read so far; for a thin archive,
/// the same of each parent.
#[derive(Debug, Clone, Default)]
pub struct Reopen {
    /// The remote store's pin; `None` for a local file.
    pub pin: Option<Pin>,
    /// The metadata bytes, for [`crate::ReadOptions::held`].
    pub held: HeldMetadata,
    /// Each parent's, in the order of the parents table, for
    /// [`crate::ReadOptions::parent_reopen`].
    pub parents: Vec<Reopen>,
}

/// The held ranges of one open archive. Records new ones only for a remote store (a local
/// file's metadata costs no request to read again) and within [`HELD_BUDGET`].
pub(crate) struct Held {
    ranges: Mutex<Ranges>,
    record: bool,
}

#[derive(Default)]
struct Ranges {
    by_offset: BTreeMap<u64, Arc<[u8]>>,
    bytes: usize,
}

impl Held {
    pub(crate) fn new(seed: HeldMetadata, record: bool) -> Held {
        let mut ranges = Ranges::default();
        for (offset, bytes) in seed.0 {
            ranges.bytes += bytes.len();
            ranges.by_offset.insert(offset, bytes);
        }
        Held {
            ranges: Mutex::new(ranges),
            record,
        }
    }

    /// A copy of the bytes at `offset..offset + len`, when one held range covers them.
    fn get(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let ranges = self.ranges.lock();
        let (&start, bytes) = ranges.by_offset.range(..=offset).next_back()?;
        let from = usize::try_from(offset - start).ok()?;
        bytes.get(from..from.checked_add(len)?).map(<[u8]>::to_vec)
    }

    fn bytes(&self) -> usize {
        self.ranges.lock().bytes
    }

    fn insert(&self, offset: u64, bytes: &[u8]) {
        let mut ranges = self.ranges.lock();
        if self.record && ranges.bytes + bytes.len() <= HELD_BUDGET {
            if let Some(old) = ranges.by_offset.insert(offset, bytes.into()) {
                ranges.bytes -= old.len();
            }
            ranges.bytes += bytes.len();
        }
    }

    fn snapshot(&self) -> HeldMetadata {
        let ranges = self.ranges.lock();
        HeldMetadata(
            ranges
                .by_offset
                .iter()
                .map(|(&o, b)| (o, b.clone()))
                .collect(),
        )
    }

    /// The bytes at `offset`, held or read from `store` (and then held).
    pub(crate) fn read(
        &self,
        store: &dyn ReadAt,
        offset: u64,
        len: usize,
    ) -> std::io::Result<Vec<u8>> {
        if let Some(bytes) = self.get(offset, len) {
            return Ok(bytes);
        }
        let mut bytes = vec![0u8; len];
        store.read_exact_at(offset, &mut bytes)?;
        self.insert(offset, &bytes);
        Ok(bytes)
    }
}

impl ArchiveState {
    /// The stored bytes of metadata frame `f`, held or read.
    pub(crate) fn read_stored_frame(&self, f: &FrameRef) -> std::io::Result<Vec<u8>> {
        self.held
            .read(&*self.store, f.offset, f.stored_len as usize)
    }
}

impl Archive {
    /// What another process needs to reopen this archive with no request to its store:
    /// pass [`Reopen::held`] as [`crate::ReadOptions::held`] and open the store from
    /// [`Reopen::pin`] (`hexz_store::open_url_pinned`).
    pub fn reopen_state(&self) -> Reopen {
        Reopen {
            pin: self.state.store.pin(),
            held: self.state.held.snapshot(),
            parents: self
                .state
                .parents
                .iter()
                .map(|p| p.archive.reopen_state())
                .collect(),
        }
    }

    /// Fetches every index and record page of a remote archive now, in one batch of
    /// concurrent requests, and holds their stored bytes (decoded on first use), so that the
    /// processes [`Archive::reopen_state`] reopens it in never fetch a page themselves; the
    /// same for the parents of a thin archive. Does nothing (false) for a local archive or
    /// when the pages exceed [`HELD_BUDGET`].
    pub fn hold_pages(&self) -> Result<bool> {
        for p in &self.state.parents {
            p.archive.hold_pages()?;
        }
        self.hold_own_pages()
    }

    fn hold_own_pages(&self) -> Result<bool> {
        let st = &self.state;
        if !st.held.record {
            return Ok(false);
        }
        // Behind a page directory (§7.8), its frames come first: finding the pages reads them.
        if let Some(top) = st.summary.extension(PAGE_DIRECTORY) {
            if !self.hold(&[top])? {
                return Ok(false);
            }
            let Some(dir) = st.page_directory()? else {
                return Ok(false);
            };
            let frames: Vec<FrameRef> = [PageSet::Index, PageSet::Records]
                .iter()
                .flat_map(|&set| dir.frames(set).iter().map(|r| r.frame))
                .collect();
            if !self.hold(&frames)? {
                return Ok(false);
            }
        }
        let mut pages = st.page_refs(PageSet::Index)?;
        pages.extend(st.page_refs(PageSet::Records)?);
        let frames: Vec<FrameRef> = pages.iter().map(|p| p.frame).collect();
        self.hold(&frames)
    }

    /// Fetches the stored bytes of those of `frames` not held yet in one batch and holds
    /// them; false when they would exceed [`HELD_BUDGET`].
    fn hold(&self, frames: &[FrameRef]) -> Result<bool> {
        let st = &self.state;
        let ranges: Vec<(u64, usize)> = frames
            .iter()
            .map(|f| (f.offset, f.stored_len as usize))
            .filter(|&(offset, len)| st.held.get(offset, len).is_none())
            .collect();
        let wanted: usize = ranges.iter().map(|r| r.1).sum();
        if st.held.bytes() + wanted > HELD_BUDGET {
            return Ok(false);
        }
        let fetched = st
            .store
            .read_sparse(&ranges)
            .map_err(|e| Error::io(Action::Read, st.place(Part::Pages), e))?;
        for (&(offset, _), bytes) in ranges.iter().zip(&fetched) {
            st.held.insert(offset, bytes);
        }
        Ok(true)
    }
}
