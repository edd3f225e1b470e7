//! Encrypted archives (`docs/FORMAT.md` §9): round trips with raw keys and passphrases, wrong
//! and missing keys, tampering (flipped, swapped, moved, replayed and truncated bytes), no
//! plaintext in the file, dedup under keyed hashes, and the golden encrypted fixtures.
#![cfg(feature = "encryption")]
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod util;

mod golden;
mod keys;
mod sealed;
mod tampering;
