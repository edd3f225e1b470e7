//! Reading the logical stream: the read planner (which blocks come from the cache, which are
//! read in place, which are fetched in coalesced ranges and decoded, in parallel), batch
//! reads, and the read-ahead triggers (sequential reads, [`Archive::prefetch`] hints).

use super::block::BlockKey;
use super::parents::{ParentSpan, SpanPlan};
use super::{Archive, ArchiveState};
use crate::{Action, Error, Part, Result};
use hexz_format::{BlockEntry, Codec, Entry};
use rayon::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Stored ranges closer than this are fetched with one read.
const COALESCE_GAP: u64 = 64 * 1024;
/// Largest single coalesced read.
const COALESCE_MAX: u64 = 16 << 20;
/// Fewer bytes than this are read on the calling thread: handing a few small blocks to the
/// thread pool costs more (wake-ups, a join) than decoding them here.
pub(super) const PARALLEL_BYTES: usize = 256 << 10;

impl Archive {
    /// Reads up to `buf.len()` bytes of the logical stream at `offset`; short only at the end.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let n = self.state.read_at(offset, buf)?;
        if n > 0 {
            let end = offset + n as u64;
            let prev = self.state.last_end.swap(end, Ordering::Relaxed);
            // Large reads decode their blocks in parallel already; read-ahead serves small ones.
            let window = self.readahead_blocks as u64 * self.state.header.block_size as u64;
            if prev == offset && end < self.len() && (n as u64) < window / 2 {
                if let Some(p) = &self.prefetch {
                    if let Ok(first) = self.state.block_index_at(end) {
                        let last = (first + self.readahead_blocks as u64)
                            .min(self.state.summary.block_count);
                        p.request(first..last);
                    }
                }
            }
        }
        Ok(n)
    }

    /// Reads exactly `buf.len()` bytes at `offset`, or fails with [`Error::OutOfRange`].
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let n = self.read_at(offset, buf)?;
        if n != buf.len() {
            return Err(past_the_end(offset, buf.len(), self.len()));
        }
        Ok(())
    }

    /// Reads `len` bytes at `offset` into a new vector (shorter at the end of the stream).
    pub fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let avail = self.len().saturating_sub(offset).min(len as u64) as usize;
        let mut v = vec![0u8; avail];
        let n = self.read_at(offset, &mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// Reads many ranges into `out` back to back (`out.len()` must be the sum of the lengths),
    /// in parallel: one call per batch of samples instead of one per sample.
    pub fn read_batch(&self, ranges: &[(u64, usize)], out: &mut [u8]) -> Result<()> {
        let total = ranges
            .iter()
            .try_fold(0usize, |acc, r| acc.checked_add(r.1));
        if total != Some(out.len()) {
            return Err(Error::InvalidInput(format!(
                "read_batch: the ranges' lengths do not add up to the buffer's {} bytes",
                out.len()
            )));
        }
        let mut jobs: Vec<(u64, &mut [u8])> = Vec::with_capacity(ranges.len());
        let mut rest = out;
        for &(off, len) in ranges {
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            jobs.push((off, dst));
        }
        let read = |(off, dst): &mut (u64, &mut [u8])| self.state.read_exact(*off, dst);
        if jobs.len() > 1 && crate::fork::parallel_ok() {
            jobs.par_iter_mut().try_for_each(read)
        } else {
            jobs.iter_mut().try_for_each(read)
        }
    }

    /// Asks the read-ahead threads to decode the blocks of `offset..offset + len` into the
    /// cache (when the access order is known in advance). Returns at once.
    pub fn prefetch(&self, offset: u64, len: u64) {
        let (Some(p), false) = (&self.prefetch, len == 0 || offset >= self.len()) else {
            return;
        };
        let end = offset.saturating_add(len).min(self.len()) - 1;
        if let (Ok(first), Ok(last)) = (
            self.state.block_index_at(offset),
            self.state.block_index_at(end),
        ) {
            p.request(first..last + 1);
        }
    }

    /// The decoded block holding logical `offset`, and the block's logical start. Served from
    /// the cache when possible; callers may hold the buffer without copying it.
    pub fn block_at(&self, offset: u64) -> Result<(u64, Arc<[u8]>)> {
        let (idx, e) = self.state.entry_at(offset)?;
        Ok((e.logical_offset, self.state.load_block(idx, &e)?))
    }

    /// Reads up to `buf.len()` bytes of `entry` at `offset` within it; short only at its end.
    pub fn read_entry_at(&self, entry: &Entry, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= entry.size {
            return Ok(0);
        }
        let n = (entry.size - offset).min(buf.len() as u64) as usize;
        self.read_at(entry.data_offset + offset, &mut buf[..n])
    }
}

/// A block still to read: its global index, its entry, where its bytes go in the caller's
/// buffer, and how many of its bytes come before them.
pub(super) type Pending<'a> = (u64, BlockEntry, &'a mut [u8], usize);

impl ArchiveState {
    pub(super) fn read_exact(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let n = self.read_at(offset, buf)?;
        if n != buf.len() {
            return Err(past_the_end(offset, buf.len(), self.summary.logical_size));
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let s = &self.summary;
        if offset >= s.logical_size || buf.is_empty() {
            return Ok(0);
        }
        let n = (s.logical_size - offset).min(buf.len() as u64) as usize;
        self.stats.returned(n);
        let end = offset + n as u64;
        let mut pending: Vec<Pending> = Vec::new();
        // Blocks a parent holds, contiguous in it, are one read of it straight into `buf`;
        // the span being gathered is split off `rest` when the next block does not continue it.
        let mut spans: Vec<ParentSpan> = Vec::new();
        let mut gathering: Option<SpanPlan> = None;
        let mut rest = &mut buf[..n];
        let (mut idx, first) = self.entry_at(offset)?;
        let mut next = Some(first);
        let mut pos = offset;
        while pos < end {
            let e = match next.take() {
                Some(e) => e,
                None => self.block_entry(idx)?,
            };
            let skip = (pos - e.logical_offset) as usize;
            let take = ((e.raw_len as usize) - skip).min((end - pos) as usize);
            pos += take as u64;
            idx += 1;
            if e.parent.is_some() && skip == 0 {
                if let Some(plan) = &mut gathering {
                    if plan.extend(idx - 1, &e, take) {
                        continue;
                    }
                }
            }
            if let Some(plan) = gathering.take() {
                let (dst, tail) = std::mem::take(&mut rest).split_at_mut(plan.len());
                rest = tail;
                spans.push(plan.into_span(dst));
            }
            let hole = e.codec == Codec::Zero && e.parent.is_none();
            let cached = match hole {
                true => None,
                false => self.blocks.get(&BlockKey::of(&e)),
            };
            if e.parent.is_some() && cached.is_none() {
                gathering = Some(SpanPlan::new(idx - 1, e, skip, take));
                continue;
            }
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(take);
            rest = tail;
            if hole {
                dst.fill(0);
            } else if let Some(b) = cached {
                dst.copy_from_slice(&b[skip..skip + take]);
            } else {
                pending.push((idx - 1, e, dst, skip));
            }
        }
        if let Some(plan) = gathering.take() {
            spans.push(plan.into_span(rest));
        }
        self.read_parent_spans(&mut spans)?;
        if pending.is_empty() {
            return Ok(n);
        }
        // Blocks that read-ahead is fetching right now: wait for them rather than fetch twice.
        if self.in_flight.wait_for(pending.iter().map(|p| p.0)) {
            pending.retain_mut(
                |(_, e, dst, skip)| match self.blocks.get(&BlockKey::of(e)) {
                    Some(b) => {
                        dst.copy_from_slice(&b[*skip..*skip + dst.len()]);
                        false
                    }
                    None => true,
                },
            );
            if pending.is_empty() {
                return Ok(n);
            }
        }
        // A remote store whose disk cache holds all of it is read like a local file.
        let remote = self.store.is_remote() && !self.store.all_local();
        // Raw blocks wholly inside the caller's buffer are read straight into it: no staging
        // buffer, no copy. The rest are fetched in coalesced ranges and decoded.
        // (Not from a remote store, where one coalesced request beats one per block, and not
        // when encrypted, where stored bytes are ciphertext.)
        let plain = self.crypt.is_none();
        let (mut direct, mut pending): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(_, e, dst, skip)| {
                plain
                    && !remote
                    && e.codec == Codec::None
                    && *skip == 0
                    && dst.len() == e.raw_len as usize
            });
        let read_direct = |(idx, e, dst, _): &mut Pending| -> Result<()> {
            self.fetch_block(*idx, e, dst)?;
            self.stats.decoded(e.raw_len);
            self.check_block(*idx, e, dst)
        };
        let direct_bytes: usize = direct.iter().map(|p| p.2.len()).sum();
        if direct.len() > 1 && direct_bytes >= PARALLEL_BYTES && crate::fork::parallel_ok() {
            direct.par_iter_mut().try_for_each(read_direct)?;
        } else {
            direct.iter_mut().try_for_each(read_direct)?;
        }
        if pending.is_empty() {
            return Ok(n);
        }
        let raw_bytes: u64 = pending.iter().map(|p| p.1.raw_len as u64).sum();
        let small = pending.len() <= 2 || raw_bytes < PARALLEL_BYTES as u64;
        let ranges = coalesce(
            pending
                .iter()
                .map(|p| (p.1.stored_offset, p.1.stored_len as u64)),
        );
        let reqs: Vec<(u64, usize)> = ranges.iter().map(|&(o, l)| (o, l as usize)).collect();
        let bufs = self.store.read_ranges(&reqs).map_err(|e| {
            let part = Part::Blocks {
                logical_offset: offset,
            };
            Error::io(Action::Read, self.place(part), e)
        })?;
        let work = |(idx, e, dst, skip): &mut Pending| -> Result<()> {
            let stored = stored_in(&ranges, &bufs, e);
            if *skip == 0 && dst.len() == e.raw_len as usize {
                self.decode_block(*idx, e, stored, dst)?;
                // A whole block read from a local store is not kept: a shuffled reader of
                // record-aligned blocks would only churn the cache. On a remote store the copy
                // is cheap next to the round trip it saves.
                if remote {
                    self.blocks.insert(BlockKey::of(e), Arc::from(&**dst));
                }
            } else {
                let full = self.decode_shared(*idx, e, stored)?;
                dst.copy_from_slice(&full[*skip..*skip + dst.len()]);
                self.blocks.insert(BlockKey::of(e), full);
            }
            Ok(())
        };
        if small || !crate::fork::parallel_ok() {
            pending.iter_mut().try_for_each(work)?;
        } else {
            pending.par_iter_mut().try_for_each(work)?;
        }
        Ok(n)
    }
}

fn past_the_end(offset: u64, len: usize, logical_size: u64) -> Error {
    Error::OutOfRange(format!(
        "range {offset}+{len} is past the end of the stream ({logical_size} bytes)"
    ))
}

/// The stored bytes of block `e` among `bufs`, the contents of the coalesced `ranges`.
pub(super) fn stored_in<'a>(
    ranges: &[(u64, u64)],
    bufs: &'a [Vec<u8>],
    e: &BlockEntry,
) -> &'a [u8] {
    let r = ranges.partition_point(|&(o, _)| o <= e.stored_offset) - 1;
    let start = (e.stored_offset - ranges[r].0) as usize;
    &bufs[r][start..start + e.stored_len as usize]
}

/// Merges `(offset, len)` ranges sorted by offset that lie close together.
pub(super) fn coalesce(ranges: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut sorted: Vec<(u64, u64)> = ranges.collect();
    sorted.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (o, l) in sorted {
        if let Some(last) = out.last_mut() {
            let last_end = last.0 + last.1;
            if o <= last_end + COALESCE_GAP && (o + l).max(last_end) - last.0 <= COALESCE_MAX {
                last.1 = (o + l).max(last_end) - last.0;
                continue;
            }
        }
        out.push((o, l));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::coalesce;

    #[test]
    fn coalesces_near_ranges() {
        let r = coalesce([(0u64, 10u64), (10, 10), (100_000_000, 5), (25, 5)].into_iter());
        assert_eq!(r, vec![(0, 30), (100_000_000, 5)]);
    }
}
