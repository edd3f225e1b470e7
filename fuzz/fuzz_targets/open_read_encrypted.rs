//! Arbitrary bytes → `MemStore` → `Archive::open_store` with a fixed raw key (the key of
//! `tests/fixtures/v1/encrypted-raw-key.hxz`, the seed); when it opens, every read API runs,
//! as in `open_read` (the logic is shared by path with `crates/hexz-core/tests/corruption/`).
//!
//! Only the 128-byte header and the footer are plaintext: the key check, the summary's tag
//! (whose associated data is the header) and every frame's and block's tag stand between the
//! input and the parsers behind them, so a mutated input mostly exercises the key check,
//! authentication failures and the order of checks around them (crc32c, then the tag, then
//! decompression). A raw key never runs Argon2id, so a crafted header cannot slow a run. A
//! panic here is an engine bug; errors are expected outcomes.
#![no_main]

use hexz_core::KeySource;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/hexz-core/tests/common/open_read.rs"]
mod open_read;

/// `tests/fixtures/v1/encrypted-raw-key.key`.
const KEY: [u8; 32] = [
    0x8f, 0x2a, 0x4c, 0x6e, 0x0b, 0x1d, 0x3f, 0x5a, 0x7c, 0x9e, 0x2b, 0x4d, 0x6f, 0x8a, 0x0c, 0x1e,
    0x3b, 0x5d, 0x7f, 0x9a, 0x2c, 0x4e, 0x6b, 0x8d, 0x0f, 0x1a, 0x3c, 0x5e, 0x7b, 0x9d, 0x2f, 0x40,
];

fuzz_target!(|data: &[u8]| {
    let _ = open_read::exercise_with(data, Some(KeySource::RawKey(KEY)));
});
