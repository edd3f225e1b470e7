//! [`Share`]: one rank's part of an epoch, and where a resumed epoch continues.
//!
//! An iteration starts at a global position `start` of the [`Order`] (0 for a fresh epoch,
//! later after a resume). Of the `m = n - start` positions left, rank `r` of `W` takes every
//! `W`-th one from `start + r`, the way `torch.utils.data.DistributedSampler` splits an epoch,
//! so together the ranks take each position once. Every rank must take the same count, or
//! the collective operations of distributed training wait forever at the end of an epoch:
//! with `drop_last` the last `m mod W` positions are left out; without it, positions past the
//! end wrap around to the start of the order (those samples are seen twice), `ceil(m / W)`
//! each.
//!
//! After each rank took `k` samples, the ranks together took positions `start..start + kW`:
//! [`Share::resume_position`] is where the next iteration starts, whatever the world size
//! then. That is the whole state of an epoch: a few integers.

use crate::{Error, Order};

/// The positions of one rank's part of an epoch.
#[derive(Clone, Debug)]
pub struct Share {
    order: Order,
    rank: u64,
    world_size: u64,
    start: u64,
    count: u64,
}

impl Share {
    /// Rank `rank` of `world_size`'s part of `order`, from global position `start`.
    ///
    /// # Errors
    /// [`Error::ZeroWorld`], [`Error::RankOutOfRange`], or [`Error::StartPastEnd`] for a
    /// `start` beyond the epoch's end.
    pub fn new(
        order: Order,
        rank: u64,
        world_size: u64,
        start: u64,
        drop_last: bool,
    ) -> Result<Self, Error> {
        if world_size == 0 {
            return Err(Error::ZeroWorld);
        }
        if rank >= world_size {
            return Err(Error::RankOutOfRange { rank, world_size });
        }
        let n = order.len();
        if start > n {
            return Err(Error::StartPastEnd { start, n });
        }
        let left = n - start;
        let count = if drop_last {
            left / world_size
        } else {
            left.div_ceil(world_size)
        };
        Ok(Self {
            order,
            rank,
            world_size,
            start,
            count,
        })
    }

    /// Samples this rank takes (the same on every rank).
    #[must_use]
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether this rank takes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The order this is a part of.
    #[must_use]
    pub fn order(&self) -> &Order {
        &self.order
    }

    /// The global position of this rank's `k`-th sample (may be past the epoch's end when
    /// padding wraps around).
    #[must_use]
    pub fn global_position(&self, k: u64) -> u64 {
        self.start + self.rank + k * self.world_size
    }

    /// This rank's `k`-th sample (`k < len()`).
    #[must_use]
    pub fn get(&self, k: u64) -> u64 {
        let n = self.order.len();
        self.order.get(self.global_position(k) % n.max(1))
    }

    /// This rank's samples `first..first + count` (fewer at the end of the share).
    #[must_use]
    pub fn take(&self, first: u64, count: u64) -> Vec<u64> {
        let end = first.saturating_add(count).min(self.count);
        let n = self.order.len().max(1);
        self.order
            .get_many((first.min(end)..end).map(|k| self.global_position(k) % n))
    }

    /// Where in this share sample `index` comes first, if it does: the inverse of [`get`](Self::get).
    #[must_use]
    pub fn index_of(&self, index: u64) -> Option<u64> {
        let n = self.order.len();
        if index >= n {
            return None;
        }
        let pos = self.order.position(index);
        // The sample is at `pos`, and again at `pos + n`, `pos + 2n`, ... where padding wraps.
        let mut p = pos;
        while p < self.start + self.rank {
            p += n;
        }
        let end = self.global_position(self.count);
        while p < end {
            let d = p - self.start - self.rank;
            if d.is_multiple_of(self.world_size) {
                return Some(d / self.world_size);
            }
            p += n;
        }
        None
    }

    /// Where the next iteration starts after every rank took `taken` samples of its share.
    #[must_use]
    pub fn resume_position(&self, taken: u64) -> u64 {
        (self.start + taken.min(self.count) * self.world_size).min(self.order.len())
    }
}
