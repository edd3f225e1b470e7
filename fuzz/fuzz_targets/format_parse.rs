//! Every hexz-format parser on arbitrary bytes: each returns an error or a value, never panics
//! or allocates beyond the format's limits. The first 16 bytes seed the parsers' parameters.
#![no_main]

use hexz_format::entry::parse_entries;
use hexz_format::parent::parse_parents;
use hexz_format::record::{parse_groups, parse_record_page};
use hexz_format::{BlockEntry, Footer, Header, RequiredFeatures, Signature, Summary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (params, raw) = data.split_at(data.len().min(16));
    let mut p = [0u8; 16];
    p[..params.len()].copy_from_slice(params);
    let a = u64::from_le_bytes(p[..8].try_into().unwrap_or([0; 8]));
    let b = u64::from_le_bytes(p[8..].try_into().unwrap_or([0; 8]));
    let encrypted = a & 1 == 1;
    // Counts small enough to reach the row parsers, or arbitrary.
    let count = if a & 2 == 0 {
        (b % 256) as u32
    } else {
        b as u32
    };

    let _ = Header::parse(raw, RequiredFeatures::KNOWN);
    let _ = Header::parse(raw, u64::MAX);
    let _ = Footer::parse(raw, b);
    let _ = Footer::parse(raw, raw.len() as u64);
    let _ = Summary::parse(raw, b, encrypted);
    let _ = BlockEntry::parse_page(raw, a >> 2, b, encrypted);
    let _ = parse_entries(raw, count as u64, b);
    let _ = parse_groups(raw, count, a >> 2);
    let _ = parse_record_page(raw, b);
    let _ = parse_parents(raw, count % 300);
    let _ = Signature::parse(raw);
});
