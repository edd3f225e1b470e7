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
    pub fn cut(&self, buf: &[u8]) -> Vec<usize> {
        FastCDC::new(buf, self.min as usize, self.avg as usize, self.max as usize)
            .map(|c| c.length)
            .collect()
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
