//! The one error type of `hexz-order`: arguments that describe no order.

/// An order or share that cannot exist.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A block shuffle with blocks of zero samples.
    #[error("block_samples must be at least 1")]
    ZeroBlock,
    /// A share of zero ranks.
    #[error("world_size must be at least 1")]
    ZeroWorld,
    /// A rank outside `0..world_size`.
    #[error("rank {rank} is not below world_size {world_size}")]
    RankOutOfRange {
        /// The rank given.
        rank: u64,
        /// The number of ranks.
        world_size: u64,
    },
    /// A share that starts past the end of the epoch.
    #[error("start position {start} is past the end of the epoch ({n} samples)")]
    StartPastEnd {
        /// The position given.
        start: u64,
        /// Samples in the epoch.
        n: u64,
    },
}
