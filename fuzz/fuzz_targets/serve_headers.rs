//! `hexz serve`'s request decisions on arbitrary header lines: `Range` resolution (multiple
//! ranges, suffixes, overlaps) and the conditional-request checks (`If-Match`,
//! `If-None-Match`, dates, `If-Range`). The request line and header syntax are hyper's, fuzzed
//! upstream. The same entry point runs in `crates/hexz-serve/tests/fuzz_replay.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hexz_serve::fuzzing::request_headers(data));
