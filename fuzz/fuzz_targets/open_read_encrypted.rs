//! Arbitrary bytes → `MemStore` → `Archive::open_store` with a fixed raw key (the key of
//! `tests/fixtures/v1/encrypted-raw-key.hxz`, the seed); when it opens, every read API runs:
//! entries and lookups, every entry read in full, record groups and records, metadata,
//! random ranges, a batch read, a full read and verify.
//!
//! Only the 128-byte header and the footer are plaintext: the key check, the summary's tag
//! (whose associated data is the header) and every frame's and block's tag stand between the
//! input and the parsers behind them, so a mutated input mostly exercises the key check,
//! authentication failures and the order of checks around them (crc32c, then the tag, then
//! decompression). A panic here is an engine bug; errors are expected outcomes.
#![no_main]

use hexz_core::verify::verify;
use hexz_core::{Archive, KeySource, MemStore, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

/// `tests/fixtures/v1/encrypted-raw-key.key`.
const KEY: [u8; 32] = [
    0x8f, 0x2a, 0x4c, 0x6e, 0x0b, 0x1d, 0x3f, 0x5a, 0x7c, 0x9e, 0x2b, 0x4d, 0x6f, 0x8a, 0x0c, 0x1e,
    0x3b, 0x5d, 0x7f, 0x9a, 0x2c, 0x4e, 0x6b, 0x8d, 0x0f, 0x1a, 0x3c, 0x5e, 0x7b, 0x9d, 0x2f, 0x40,
];

/// Largest logical stream read in full and verified (a tiny file may claim 2^62 zero bytes).
const FULL_READ_LIMIT: u64 = 4 << 20;
/// Largest part of one entry read.
const ENTRY_READ_LIMIT: u64 = 1 << 20;

/// xorshift64, seeded from the input, for read offsets.
struct Xs(u64);
impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn exercise(data: &[u8]) {
    // Not every field is named, so that fields added later keep their defaults.
    let opts = ReadOptions {
        cache_bytes: 256 << 10,
        readahead_threads: 0,
        readahead_blocks: 0,
        key: Some(KeySource::RawKey(KEY)),
        ..ReadOptions::default()
    };
    let opts = ReadOptions {
        verify_hashes: true,
        ..opts
    };
    let Ok(a) = Archive::open_store(Arc::new(MemStore::new(data.to_vec())), opts) else {
        return;
    };
    let len = a.len();
    assert!(len <= 1 << 62, "logical size {len} beyond the format limit");
    let _ = a.header();
    let _ = a.root_hash();
    let mut x = Xs(hexz_format::crc32c(data) as u64 | 1);

    if let Ok(entries) = a.entries() {
        for w in entries.windows(2) {
            assert!(w[0].path < w[1].path, "entries not sorted");
        }
        for e in entries.iter().take(256) {
            assert!(
                e.data_offset
                    .checked_add(e.size)
                    .is_some_and(|end| end <= len),
                "entry {:?} past the end",
                e.path
            );
            if let Ok(found) = a.entry(&e.path) {
                assert_eq!(found.as_ref(), Some(e), "lookup of {:?}", e.path);
            }
            let mut buf = vec![0u8; e.size.min(ENTRY_READ_LIMIT) as usize];
            if let Ok(n) = a.read_entry_at(e, 0, &mut buf) {
                assert_eq!(n, buf.len(), "short entry read of {:?}", e.path);
            }
        }
    }

    if let Ok(groups) = a.record_groups() {
        let mut next = 0u64;
        for g in groups.iter() {
            assert_eq!(g.first_record, next, "record groups not contiguous");
            next = next
                .checked_add(g.record_count)
                .expect("record group counts overflow");
        }
    }
    let count = a.record_count();
    let mut probes = vec![0, count.saturating_sub(1), count, x.next() % (count + 1)];
    if count <= 10_000 {
        probes.extend(0..count);
    }
    for i in probes {
        if let Ok(rec) = a.record(i) {
            assert!(i < count, "record {i} of {count} exists");
            assert!(
                rec.offset
                    .checked_add(rec.length)
                    .is_some_and(|end| end <= len),
                "record {i} past the end"
            );
        }
    }
    let _ = a.metadata();

    for _ in 0..8 {
        let off = x.next() % (len + 16);
        let want = (x.next() % (64 << 10)) as usize;
        let mut buf = vec![0u8; want];
        if let Ok(n) = a.read_at(off, &mut buf) {
            let expect = len.saturating_sub(off).min(want as u64) as usize;
            assert_eq!(n, expect, "read_at({off}, {want}) of a {len}-byte stream");
        }
    }

    a.prefetch(x.next() % (len + 16), x.next() % (1 << 20));
    let ranges: Vec<(u64, usize)> = (0..4)
        .map(|_| {
            let off = x.next() % (len + 1);
            (off, (x.next() % (len - off + 1)).min(32 << 10) as usize)
        })
        .collect();
    let mut batch = vec![0u8; ranges.iter().map(|r| r.1).sum()];
    if a.read_batch(&ranges, &mut batch).is_ok() {
        let mut at = 0;
        for &(off, n) in &ranges {
            if let Ok(v) = a.read_vec(off, n) {
                assert!(
                    v[..] == batch[at..at + n],
                    "read_batch differs at {off}+{n}"
                );
            }
            at += n;
        }
    }

    if len <= FULL_READ_LIMIT {
        if let Ok(v) = a.read_vec(0, len as usize) {
            assert_eq!(v.len() as u64, len, "full read length");
        }
        let _ = verify(&a, &|_| {});
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
});
