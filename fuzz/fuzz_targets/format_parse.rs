//! Every hexz-format parser on arbitrary bytes: each returns an error or a value, never panics
//! or allocates beyond the format's limits. The first 16 bytes seed the parsers' parameters.
//! The logic is shared, by path, with `crates/hexz-format/tests/fuzz_replay.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/hexz-format/tests/common/fuzz_logic.rs"]
mod fuzz_logic;

fuzz_target!(|data: &[u8]| fuzz_logic::parse_all(data));
