//! Sample orders for training: which sample comes at which position of an epoch.
//!
//! An order is a pure function of `(n, shuffle, seed, epoch)`, never of the number of
//! processes, workers or the machine, so every rank of a distributed job, every DataLoader
//! worker and a job resumed next week compute the same order. Nothing is materialized: the
//! sample at any position (and the position of any sample) is computed on its own in a few
//! hundred nanoseconds, so a data set of 10^9 samples costs no memory and a resume costs
//! no replay.
//!
//! - [`mix`]: the 64-bit mixer and the key derivation every shuffle is built on.
//! - [`permutation`]: [`Permutation`], a keyed bijection of `0..n` (a Feistel network with
//!   cycle walking) that can be applied and inverted one element at a time.
//! - [`order`]: [`Order`] and [`Shuffle`]: no shuffle, a full permutation, or a block shuffle
//!   (blocks of consecutive samples permuted, samples permuted within groups of blocks).
//! - [`share`]: [`Share`], one rank's part of an epoch (strided, padded or cut so every rank
//!   gets the same count) from a global position, and the position a resume continues from.
//! - [`Error`]: the one error type.
//!
//! Invariants: for every `n`, shuffle, seed and epoch, [`Order::get`] is a bijection of
//! `0..n` and [`Order::position`] its inverse; the orders are frozen (golden values in the
//! tests): changing them would make saved resume states continue with other samples.

#![forbid(unsafe_code)]

mod error;
pub mod mix;
pub mod order;
pub mod permutation;
pub mod share;

pub use error::Error;
pub use order::{Order, Shuffle, BLOCKS_PER_GROUP};
pub use permutation::Permutation;
pub use share::Share;
