//! Gathered reads: the samples of a batch in one call, into one buffer, with blocks stored
//! raw in a memory-mapped archive served in place (checked, never decoded or copied).

use crate::archive::Archive;
use crate::error::Result;
use hexz_format::Codec;

/// Bytes served as views of the map between two releases of its pages: small beside a
/// data set, large beside a batch (views handed out since are usually consumed by then, and a
/// view that is not simply maps its page again).
pub const RELEASE_MAPPED_EVERY: u64 = 64 << 20;

/// Where [`Archive::read_gather`] put one of the requested ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// In the returned buffer, starting at this index.
    Buffer(usize),
    /// In the store's memory map ([`crate::ReadAt::mapped`]), starting at this file offset.
    Mapped(usize),
}

impl Archive {
    /// Reads many `(offset, length)` ranges of the logical stream. A range inside one block
    /// stored raw, of an unencrypted archive whose store is memory-mapped, is checked (crc32c,
    /// and the content hash when hashes are verified) and placed in the map; every other range
    /// is read, in parallel, into one buffer, back to back in request order.
    ///
    /// Every [`RELEASE_MAPPED_EVERY`] bytes served from the map, the map's pages are released
    /// from the process ([`crate::ReadAt::release_mapped`]) before the next views are made, so
    /// an epoch over a large archive does not keep all of it resident.
    pub fn read_gather(&self, ranges: &[(u64, usize)]) -> Result<(Vec<u8>, Vec<Placed>)> {
        self.read_gather_into(ranges, Vec::new(), true)
    }

    /// [`Archive::read_gather`] into `buf`, whose contents are replaced: a caller that
    /// recycles its batch buffers passes one with room enough, and nothing is allocated.
    /// Without `views`, every range is read into the buffer, raw blocks of a mapped archive
    /// too (with `pread`, and checked in the buffer while it is in the CPU's cache): for a
    /// caller that would copy the views into one batch anyway, that is one pass over the
    /// bytes instead of two, and no map pages to fault in and release.
    pub fn read_gather_into(
        &self,
        ranges: &[(u64, usize)],
        mut buf: Vec<u8>,
        views: bool,
    ) -> Result<(Vec<u8>, Vec<Placed>)> {
        let state = self.state();
        if state.stats.release_due(RELEASE_MAPPED_EVERY) {
            state.store.release_mapped();
        }
        let mut placed = Vec::with_capacity(ranges.len());
        let mut copied = Vec::with_capacity(ranges.len());
        let mut total = 0usize;
        for &(offset, len) in ranges {
            let view = if views {
                self.mapped_range(offset, len)?
            } else {
                None
            };
            match view {
                Some(at) => placed.push(Placed::Mapped(at)),
                None => {
                    placed.push(Placed::Buffer(total));
                    total += len;
                    copied.push((offset, len));
                }
            }
        }
        buf.clear();
        buf.resize(total, 0);
        if !copied.is_empty() {
            self.read_batch(&copied, &mut buf)?;
        }
        Ok((buf, placed))
    }

    /// The file offset of `offset..offset + len` in the memory map, when that range lies in
    /// one block stored raw and unencrypted; the block is checked first.
    fn mapped_range(&self, offset: u64, len: usize) -> Result<Option<usize>> {
        let state = self.state();
        let Some(map) = state.store.mapped() else {
            return Ok(None);
        };
        if len == 0 || self.is_encrypted() || offset >= self.len() {
            return Ok(None);
        }
        let (idx, e) = state.entry_at(offset)?;
        let skip = offset - e.logical_offset;
        if e.codec != Codec::None || e.parent.is_some() || skip + len as u64 > e.raw_len as u64 {
            return Ok(None);
        }
        let start = usize::try_from(e.stored_offset).unwrap_or(usize::MAX);
        let end = start.checked_add(e.stored_len as usize);
        let Some(stored) = end.and_then(|end| map.get(start..end)) else {
            return Ok(None); // Out of the file: the ordinary read path reports it.
        };
        state.check_block(idx, &e, stored)?;
        state.stats.mapped(len);
        Ok(Some(start + skip as usize))
    }
}
