//! Test support for the Hexz crates, in one place: every crate's `tests/` and `benches/` take
//! it as a dev-dependency (it is never a normal dependency, and never published).
//!
//! One module per concern:
//!
//! - [`rng`]: [`Rng`], the one seeded PRNG of the tests and benches (SplitMix64).
//! - [`data`]: deterministic bytes built on it: noise, text, mixes of runs.
//! - [`tree`]: source trees on disk with fixed modes and nanosecond mtimes, walked and compared.
//! - [`servers`]: real servers on 127.0.0.1 (nginx, moto_server), killed when dropped.
//! - [`mounts`] (Linux): whether a test may mount with FUSE, and the mount points it sees.
//! - [`archive`] (feature `archive`): archives to serve, and remote reads checked against the
//!   local file.
//! - [`replay`]: a fuzz target's logic on its kept corpus and time-bounded mutations, on stable
//!   Rust.
//!
//! Invariants: everything random is seeded and the same on every run and platform (no clock,
//! no OS entropy); servers listen on 127.0.0.1 only and are killed, their temporary
//! directories removed, when dropped; a missing server binary fails the test with what to
//! install, never skips it.
#![forbid(unsafe_code)]
// Test support: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "archive")]
pub mod archive;
pub mod data;
#[cfg(target_os = "linux")]
pub mod mounts;
pub mod replay;
pub mod rng;
pub mod servers;
#[cfg(unix)]
pub mod tree;

pub use rng::Rng;
