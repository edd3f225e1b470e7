//! The entries and record-group tables from inputs shaped like them (fields folded into
//! plausible ranges), so the semantic checks are reached: sorting, path rules, rows sharing
//! heap bytes, group coverage. The logic is shared, by path, with
//! `crates/hexz-format/tests/fuzz_replay.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/hexz-format/tests/common/fuzz_logic.rs"]
mod fuzz_logic;

fuzz_target!(|data: &[u8]| fuzz_logic::tables(data));
