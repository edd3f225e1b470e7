//! How the logical stream is cut into blocks: fixed-size blocks, or content-defined chunks
//! (FastCDC 2020, the `fastcdc` crate), so that inserting or deleting bytes changes only the
//! blocks around the edit and the rest dedup, within an archive and against a parent.
//!
//! File and stream bytes are cut by FastCDC; records are never cut inside (the loader reads a
//! record from the blocks it spans, and one block per record is what makes a shuffled read
//! cheap), so a block of records ends after a record that a hash of the record's bytes
//! chooses, content-defined at record granularity.

use crate::{Error, Result};
use fastcdc::v2020::{self, FastCDC};
use parking_lot::Mutex;
use rayon::prelude::*;

/// Buffers of at least twice this are cut in parallel segments of at least this.
const PARALLEL_SEGMENT_MIN: usize = 1 << 20;

/// How blocks are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chunking {
    /// Blocks of `block_size` bytes (the last of a file or group may be shorter).
    #[default]
    Fixed,
    /// Content-defined chunks of these sizes (`docs/FORMAT.md` §4, optional feature `CDC`).
    Cdc(CdcSizes),
}

/// The sizes of content-defined chunks: no chunk is shorter than `min` (but the last of a
/// file) or longer than `max`, and they average about `avg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CdcSizes {
    /// Smallest chunk, 64 B to 1 MiB.
    pub min: u32,
    /// Target average, 256 B to 4 MiB.
    pub avg: u32,
    /// Largest chunk, 1 KiB to 16 MiB.
    pub max: u32,
}

impl CdcSizes {
    /// The default around an average of `avg` bytes (the block size): `avg / 4` to `avg × 4`,
    /// FastCDC's usual spread, within its limits.
    pub fn around(avg: u32) -> CdcSizes {
        let avg = avg.clamp(v2020::AVERAGE_MIN as u32, v2020::AVERAGE_MAX as u32);
        CdcSizes {
            min: (avg / 4).clamp(v2020::MINIMUM_MIN as u32, v2020::MINIMUM_MAX as u32),
            avg,
            max: avg
                .saturating_mul(4)
                .clamp(v2020::MAXIMUM_MIN as u32, v2020::MAXIMUM_MAX as u32),
        }
    }

    /// Refuses sizes FastCDC does not take, or that are out of order.
    pub fn check(&self) -> Result<()> {
        let in_range = |what: &str, v: u32, lo: usize, hi: usize| {
            if (lo..=hi).contains(&(v as usize)) && v.is_multiple_of(2) {
                Ok(())
            } else {
                Err(Error::InvalidInput(format!(
                    "chunk {what} size {v} must be an even number from {lo} to {hi}"
                )))
            }
        };
        in_range("minimum", self.min, v2020::MINIMUM_MIN, v2020::MINIMUM_MAX)?;
        in_range("average", self.avg, v2020::AVERAGE_MIN, v2020::AVERAGE_MAX)?;
        in_range("maximum", self.max, v2020::MAXIMUM_MIN, v2020::MAXIMUM_MAX)?;
        if !(self.min <= self.avg && self.avg <= self.max) {
            return Err(Error::InvalidInput(format!(
                "chunk sizes must be ordered: minimum {} ≤ average {} ≤ maximum {}",
                self.min, self.avg, self.max
            )));
        }
        Ok(())
    }

    /// The bytes buffered before cutting: enough for several chunks, so that the chunker runs
    /// over long runs and the bytes left over (the last, unfinished chunk) are moved rarely.
    pub(super) fn buffer_len(&self) -> usize {
        (self.max as usize * 4).max(8 << 20)
    }

    /// The lengths of the chunks `buf` is cut into, in order; they add up to `buf.len()`.
    /// Every chunk but the last ends where a streaming chunker would cut it; the last ends
    /// at the end of `buf`, and is cut again with what follows unless `buf` ends the data.
    ///
    /// A long buffer is cut in parallel: each segment from its own start, then the cuts are
    /// stitched in order. A cut depends only on where the previous one was, so once the cuts
    /// carried on from the segment before land on one of a segment's own, all that follow
    /// agree: the result is exactly the serial one (usually after a chunk or two).
    pub fn cut(&self, buf: &[u8]) -> Vec<usize> {
        let chunker = FastCDC::new(buf, self.min as usize, self.avg as usize, self.max as usize);
        let cutter = Cutter {
            chunker: &chunker,
            buf,
            sizes: self,
            zeros_run_to_max: self.zeros_run_to_max(),
        };
        let threads = rayon::current_num_threads();
        let segment = (buf.len() / threads.max(1)).max(PARALLEL_SEGMENT_MIN);
        if threads < 2 || buf.len() < 2 * PARALLEL_SEGMENT_MIN || !crate::fork::parallel_ok() {
            let mut cuts = Vec::with_capacity(buf.len() / self.avg.max(1) as usize + 1);
            let mut at = 0;
            while at < buf.len() {
                let next = cutter.next(at);
                cuts.push(next - at);
                at = next;
            }
            return cuts;
        }
        let starts: Vec<usize> = (0..buf.len()).step_by(segment).collect();
        // Each segment's cut positions (chunk ends), chunking from its start to the end of
        // the buffer's next segment at most: far enough to meet the carried-on cuts.
        let own: Vec<Vec<usize>> = starts
            .par_iter()
            .map(|&start| {
                let end = (start + 2 * segment).min(buf.len());
                let mut at = start;
                let mut ends = Vec::new();
                while at < end {
                    let next = cutter.next(at);
                    ends.push(next);
                    at = next;
                }
                ends
            })
            .collect();
        // Stitch: follow segment 0's cuts (true: it starts where the data does). After each
        // cut, if a later segment found the same cut, follow that segment's from there (its
        // next cuts are then true too); past a list's end, cut serially.
        let mut cuts = Vec::with_capacity(buf.len() / self.avg.max(1) as usize + 1);
        let (mut at, mut adopted, mut idx) = (0, 0, 0);
        while at < buf.len() {
            let next = match own[adopted].get(idx) {
                Some(&n) => n,
                None => cutter.next(at),
            };
            cuts.push(next - at);
            at = next;
            idx += 1;
            let reached = starts.partition_point(|&s| s <= at);
            for j in (adopted + 1..reached).rev() {
                if let Ok(i) = own[j].binary_search(&at) {
                    (adopted, idx) = (j, i + 1);
                    break;
                }
            }
        }
        cuts
    }

    /// Whether FastCDC, given zeros from a chunk's `min`-th byte on, cuts only at `max` (or
    /// at the end of the data): so that a run of zeros (the free space of a disk image) is cut
    /// without hashing it. Found once per sizes by cutting zeros (a property of the gear table
    /// and the masks, true of every size this crate accepts, but checked, not assumed).
    fn zeros_run_to_max(&self) -> bool {
        static KNOWN: Mutex<Vec<(CdcSizes, bool)>> = Mutex::new(Vec::new());
        if let Some(&(_, known)) = KNOWN.lock().iter().find(|(s, _)| s == self) {
            return known;
        }
        let zeros = vec![0u8; self.max as usize + 2];
        let first = FastCDC::new(
            &zeros,
            self.min as usize,
            self.avg as usize,
            self.max as usize,
        )
        .next()
        .map(|c| c.length);
        let runs = first == Some(self.max as usize);
        KNOWN.lock().push((*self, runs));
        runs
    }

    /// Whether a block of records that has grown to `block_len` bytes ends after `record`,
    /// which it just took, for blocks of records averaging `avg` bytes (the writer's
    /// `record_block_min`, so that a record of that size or more is a block of its own, as
    /// with fixed chunking): never before `avg / 4`; past it, with the probability that a
    /// byte cut would fall in the record's bytes (its length over `3 × avg / 4`), decided by
    /// the record's CRC-32C, so that the same records end blocks in every version of a data
    /// set, whatever was inserted or removed before them.
    pub(super) fn ends_after_record(avg: u32, block_len: usize, record: &[u8]) -> bool {
        let min = avg / 4;
        if block_len < min as usize {
            return false;
        }
        let span = (avg - min).max(1) as u64;
        let draw = crc32c::crc32c(record) as u64; // uniform in 0..2^32
        draw * span < (record.len() as u64) << 32
    }
}

/// FastCDC over one buffer, with runs of zeros cut without hashing them.
struct Cutter<'a> {
    chunker: &'a FastCDC<'a>,
    buf: &'a [u8],
    sizes: &'a CdcSizes,
    zeros_run_to_max: bool,
}

impl Cutter<'_> {
    /// Where the chunk starting at `at` ends: where FastCDC cuts it. FastCDC hashes a chunk's
    /// bytes from its `min`-th on; when those are all zeros (to `max`, or to the end) and it
    /// never cuts zeros, that is `max` bytes on (or the end), found by comparing, not hashing.
    fn next(&self, at: usize) -> usize {
        let rest = self.buf.len() - at;
        let (min, max) = (self.sizes.min as usize, self.sizes.max as usize);
        if self.zeros_run_to_max && rest > min {
            let end = at + rest.min(max);
            if all_zero(&self.buf[at + min..end]) {
                return end;
            }
        }
        self.chunker.cut(at, rest).1
    }
}

/// Whether `b` is all zeros, stopping at the first byte that is not.
fn all_zero(b: &[u8]) -> bool {
    let (words, tail) = b.as_chunks::<32>();
    words.iter().all(|w| *w == [0u8; 32]) && tail.iter().all(|&x| x == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel cut is exactly the serial one, on random and repetitive bytes, at sizes
    /// around the segment boundaries.
    #[test]
    fn parallel_cuts_are_the_serial_cuts() {
        let mut rng = hexz_testkit::Rng::new(5);
        for sizes in [CdcSizes::around(64 << 10), CdcSizes::around(4096)] {
            // The zero runs below are cut without hashing: the comparison tests that path.
            assert!(sizes.zeros_run_to_max(), "{sizes:?}");
            for len in [3 << 20, (8 << 20) + 12_345, 13 << 20] {
                let random = rng.bytes(len);
                let mut repetitive = vec![0u8; len];
                repetitive[len / 3..len / 3 + 1000].copy_from_slice(&random[..1000]);
                // Free space in an image: runs of zeros of every length, among data, some
                // ending just before or after a chunk's min and max.
                let mut sparse = random.clone();
                let mut at = 1000;
                for run in [
                    1,
                    100,
                    4095,
                    4096,
                    16_383,
                    16_384,
                    16_385,
                    262_143,
                    262_144,
                    1 << 20,
                ] {
                    let gap = rng.range(1, 300_000) as usize;
                    if at + gap + run > len {
                        break;
                    }
                    sparse[at + gap..at + gap + run].fill(0);
                    at += gap + run;
                }
                sparse[len - 5000..].fill(0);
                for buf in [&random, &repetitive, &sparse] {
                    let serial: Vec<usize> = FastCDC::new(
                        buf,
                        sizes.min as usize,
                        sizes.avg as usize,
                        sizes.max as usize,
                    )
                    .map(|c| c.length)
                    .collect();
                    assert_eq!(sizes.cut(buf), serial, "{len} bytes, {sizes:?}");
                }
            }
        }
    }
}
