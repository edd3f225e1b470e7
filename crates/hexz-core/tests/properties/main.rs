//! Property tests of every write → read round trip: any data, block size, codec and thread
//! count gives back exactly the bytes written, through `read_at`, entries, records and metadata.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod edge_cases;
mod entries;
mod metadata;
mod records;
mod stream;

use common::{build, open_mem};
use hexz_core::verify::verify;
use hexz_core::{
    Archive, Compression, DType, EntryKind, EntryMeta, Error, ReadOptions, WriteOptions,
};
use hexz_testkit::Rng;
use proptest::prelude::*;

const MAX_DATA: usize = 300 * 1024;

/// A piece of generated data; kept symbolic so that failures print compactly and shrink.
#[derive(Debug, Clone)]
enum Seg {
    Zeros(usize),
    Repeat(Vec<u8>, usize),
    Random(u64, usize),
}

fn seg(max: usize) -> impl Strategy<Value = Seg> {
    prop_oneof![
        (0..max).prop_map(Seg::Zeros),
        (prop::collection::vec(any::<u8>(), 1..8), 0..max).prop_map(|(p, n)| Seg::Repeat(p, n)),
        (any::<u64>(), 0..max).prop_map(|(s, n)| Seg::Random(s, n)),
    ]
}

fn segs(max_seg: usize, max_count: usize) -> impl Strategy<Value = Vec<Seg>> {
    prop::collection::vec(seg(max_seg), 0..max_count)
}

fn expand(segs: &[Seg], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for s in segs {
        match s {
            Seg::Zeros(n) => out.resize(out.len() + n, 0),
            Seg::Repeat(p, n) => out.extend(p.iter().cycle().take(*n)),
            Seg::Random(seed, n) => out.extend(Rng::new(*seed).bytes(*n)),
        }
    }
    out.truncate(cap);
    out
}

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Lz4),
        (1..=5i32).prop_map(Compression::Zstd),
    ]
}

fn block_size() -> impl Strategy<Value = u32> {
    (12..=16u32).prop_map(|s| 1 << s)
}

fn write_opts() -> impl Strategy<Value = WriteOptions> {
    (compression(), block_size(), 1..=3usize, any::<bool>()).prop_map(
        |(compression, block_size, threads, dedup)| WriteOptions {
            compression,
            block_size,
            threads,
            dedup,
            archive_id: None,
            encryption: None,
            ..WriteOptions::default()
        },
    )
}

fn read_opts() -> impl Strategy<Value = ReadOptions> {
    (
        prop_oneof![Just(0usize), Just(64 << 10), Just(64 << 20)],
        0..=2usize,
        any::<bool>(),
    )
        .prop_map(
            |(cache_bytes, readahead_threads, verify_hashes)| ReadOptions {
                cache_bytes,
                readahead_threads,
                readahead_blocks: 8,
                verify_hashes,
                key: None,
                ..ReadOptions::default()
            },
        )
}

fn meta(i: u64) -> EntryMeta {
    EntryMeta {
        mode: 0o600 + (i as u32 % 0o100),
        mtime_ns: 1_600_000_000_000_000_000 + i as i64 * 1_000_000_007 - 5,
    }
}

/// Turns symbolic range requests into `(offset, len)` that exercise starts, block boundaries
/// and the end of a stream of `len` bytes cut in blocks of `bs`.
fn ranges(reqs: &[(u8, u64, u64)], len: u64, bs: u64) -> Vec<(u64, usize)> {
    let blocks = len.div_ceil(bs);
    reqs.iter()
        .map(|&(kind, a, b)| match kind % 4 {
            0 => (a % (len + bs + 1), (b % (3 * bs)) as usize),
            1 => {
                let k = a % (blocks + 1);
                ((k * bs).saturating_sub(b % 97), (b % (2 * bs) + 1) as usize)
            }
            2 => (len.saturating_sub(a % 300), (b % 1000) as usize + 1),
            _ => (a % (len + 1), (b % (len + 10)) as usize),
        })
        .collect()
}

fn check_read(a: &Archive, data: &[u8], off: u64, n: usize) {
    let mut buf = vec![0xA5u8; n];
    let got = a.read_at(off, &mut buf).unwrap();
    let start = (off as usize).min(data.len());
    let end = (off as usize).saturating_add(n).min(data.len());
    assert_eq!(got, end - start, "read_at({off}, {n}) length");
    assert!(buf[..got] == data[start..end], "read_at({off}, {n}) bytes");
    let exact = a.read_exact_at(off, &mut buf);
    if end - start == n {
        exact.unwrap();
        assert!(buf[..] == data[start..end]);
    } else {
        assert!(
            matches!(exact, Err(Error::OutOfRange(_))),
            "read_exact_at({off}, {n}) past the end: {exact:?}"
        );
    }
}

fn verify_ok(a: &Archive) {
    let r = verify(a, &|_| {}).unwrap();
    assert!(r.is_ok(), "verify: {:?}", r.problems);
    assert_eq!(r.bytes, a.len(), "verify checked every logical byte");
    assert_eq!(r.blocks, a.summary().block_count);
}
