//! [`Order`]: the sample at each position of an epoch, for each [`Shuffle`].
//!
//! - [`Shuffle::None`]: position `p` holds sample `p`.
//! - [`Shuffle::Global`]: a full permutation of all samples, keyed by `(seed, epoch)`.
//! - [`Shuffle::Block`]: the samples are cut into blocks of `block` consecutive samples (the
//!   last may be shorter); the blocks are permuted; every run of [`BLOCKS_PER_GROUP`]
//!   consecutive blocks of that permuted order is a group, and the samples of a group are
//!   permuted together. Reads stay within a few blocks at a time (large, local, cacheable
//!   reads) while a batch still draws from several places of the data set.

use crate::mix::derive_key;
use crate::{Error, Permutation};

/// Blocks whose samples a block shuffle permutes together.
pub const BLOCKS_PER_GROUP: u64 = 8;

/// Purposes folded into the keys, so the permutations of one `(seed, epoch)` are unrelated.
const GLOBAL: u64 = 1;
const BLOCKS: u64 = 2;
const GROUP: u64 = 3;

/// How an epoch is shuffled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shuffle {
    /// The samples in their stored order.
    None,
    /// A full permutation.
    Global,
    /// A block shuffle with blocks of `block` samples.
    Block {
        /// Samples per block.
        block: u64,
    },
}

/// The order of the `n` samples of one epoch.
#[derive(Clone, Debug)]
pub struct Order {
    n: u64,
    seed: u64,
    epoch: u64,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    None,
    Global(Permutation),
    Block(Blocks),
}

/// The precomputed shape of a block shuffle.
#[derive(Clone, Debug)]
struct Blocks {
    block: u64,
    /// Permuted slot -> block.
    slots: Permutation,
    /// The last block's length (`1..=block`).
    last_len: u64,
    /// The group holding the last block, which is `block - last_len` samples short.
    short_group: u64,
}

impl Order {
    /// The order of `n` samples under `shuffle` in `epoch`.
    ///
    /// # Errors
    /// [`Error::ZeroBlock`] for a block shuffle of zero-sample blocks.
    pub fn new(n: u64, shuffle: Shuffle, seed: u64, epoch: u64) -> Result<Self, Error> {
        let kind = match shuffle {
            Shuffle::None => Kind::None,
            Shuffle::Global => {
                Kind::Global(Permutation::new(n, derive_key(seed, &[epoch, GLOBAL])))
            }
            Shuffle::Block { block: 0 } => return Err(Error::ZeroBlock),
            Shuffle::Block { block } => {
                let count = n.div_ceil(block);
                let slots = Permutation::new(count, derive_key(seed, &[epoch, BLOCKS]));
                let last_slot = slots.invert(count.saturating_sub(1));
                Kind::Block(Blocks {
                    block,
                    slots,
                    last_len: n - count.saturating_sub(1) * block,
                    short_group: last_slot / BLOCKS_PER_GROUP,
                })
            }
        };
        Ok(Self {
            n,
            seed,
            epoch,
            kind,
        })
    }

    /// Samples in the epoch.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether the epoch is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The sample at position `pos` (`pos < len()`; larger positions are returned unchanged).
    #[must_use]
    pub fn get(&self, pos: u64) -> u64 {
        if pos >= self.n {
            return pos;
        }
        match &self.kind {
            Kind::None => pos,
            Kind::Global(p) => p.apply(pos),
            Kind::Block(b) => self.block_get(b, pos),
        }
    }

    /// The position of sample `index` (`index < len()`): `get(position(i)) == i`.
    #[must_use]
    pub fn position(&self, index: u64) -> u64 {
        if index >= self.n {
            return index;
        }
        match &self.kind {
            Kind::None => index,
            Kind::Global(p) => p.invert(index),
            Kind::Block(b) => self.block_position(b, index),
        }
    }

    fn block_len(&self, b: &Blocks, block: u64) -> u64 {
        if block + 1 == b.slots.len() {
            b.last_len
        } else {
            b.block
        }
    }

    /// Samples the short group lacks, which every later group starts earlier by.
    fn shortfall(b: &Blocks) -> u64 {
        b.block - b.last_len
    }

    fn group_start(b: &Blocks, group: u64) -> u64 {
        let nominal = group * BLOCKS_PER_GROUP * b.block;
        if group > b.short_group {
            nominal - Self::shortfall(b)
        } else {
            nominal
        }
    }

    fn group_slots(b: &Blocks, group: u64) -> std::ops::Range<u64> {
        let first = group * BLOCKS_PER_GROUP;
        first..(first + BLOCKS_PER_GROUP).min(b.slots.len())
    }

    fn group_of(b: &Blocks, pos: u64) -> u64 {
        let span = BLOCKS_PER_GROUP * b.block;
        if pos < Self::group_start(b, b.short_group + 1) {
            pos / span
        } else {
            (pos + Self::shortfall(b)) / span
        }
    }

    fn group(&self, b: &Blocks, group: u64) -> Group {
        let blocks: Vec<(u64, u64)> = Self::group_slots(b, group)
            .map(|s| {
                let block = b.slots.apply(s);
                (block, self.block_len(b, block))
            })
            .collect();
        let size = blocks.iter().map(|&(_, len)| len).sum();
        Group {
            index: group,
            start: Self::group_start(b, group),
            perm: Permutation::new(size, derive_key(self.seed, &[self.epoch, GROUP, group])),
            blocks,
        }
    }

    fn block_get(&self, b: &Blocks, pos: u64) -> u64 {
        self.group(b, Self::group_of(b, pos)).get(b.block, pos)
    }

    fn block_position(&self, b: &Blocks, index: u64) -> u64 {
        let block = index / b.block;
        let group = self.group(b, b.slots.invert(block) / BLOCKS_PER_GROUP);
        let before: u64 = group
            .blocks
            .iter()
            .take_while(|&&(bl, _)| bl != block)
            .map(|&(_, len)| len)
            .sum();
        group.start + group.perm.invert(before + index % b.block)
    }

    /// The samples at `positions`, faster than one [`get`](Self::get) each when neighbouring
    /// positions share a group of a block shuffle (the group's blocks are looked up once).
    #[must_use]
    pub fn get_many(&self, positions: impl IntoIterator<Item = u64>) -> Vec<u64> {
        let Kind::Block(b) = &self.kind else {
            return positions.into_iter().map(|p| self.get(p)).collect();
        };
        let mut current: Option<Group> = None;
        positions
            .into_iter()
            .map(|pos| {
                if pos >= self.n {
                    return pos;
                }
                let g = Self::group_of(b, pos);
                let group = match current.take() {
                    Some(group) if group.index == g => group,
                    _ => self.group(b, g),
                };
                let i = group.get(b.block, pos);
                current = Some(group);
                i
            })
            .collect()
    }
}

/// One group of a block shuffle: its blocks (in slot order, with their lengths), where it
/// starts in the order, and the permutation of its samples.
struct Group {
    index: u64,
    start: u64,
    perm: Permutation,
    blocks: Vec<(u64, u64)>,
}

impl Group {
    fn get(&self, block_size: u64, pos: u64) -> u64 {
        let mut q = self.perm.apply(pos - self.start);
        for &(block, len) in &self.blocks {
            if q < len {
                return block * block_size + q;
            }
            q -= len;
        }
        unreachable!("a group's permutation stays within the group's samples")
    }
}
