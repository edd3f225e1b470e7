//! Arbitrary bytes → `MemStore` → `Archive::open_store`; when it opens, every read API runs
//! (ranges, entries, record groups, records, metadata, full read and verify).
//!
//! The logic is shared, by path, with `crates/hexz-core/tests/corruption/`, which runs it on
//! ~20,000 seeded mutations in CI. A panic here is an engine bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/hexz-core/tests/common/open_read.rs"]
mod open_read;

fuzz_target!(|data: &[u8]| {
    let _ = open_read::exercise(data);
});
