//! The conformance suite every [`ReadAt`] implementation must pass.
//!
//! A backend's tests call [`check_store`] with a function that stores the given bytes in the
//! backend and returns a reader over them. Each check panics with a message on failure.

use crate::store::ReadAt;
use std::io::ErrorKind;
use std::sync::Arc;

/// Deterministic test bytes of length `n`.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Runs every check against stores made by `make`.
pub fn check_store(make: &dyn Fn(&[u8]) -> Arc<dyn ReadAt>) {
    let data = pattern(1 << 20 | 12345);
    let store = make(&data);
    assert_eq!(store.len().expect("len"), data.len() as u64, "len");

    for &(off, len) in &[
        (0usize, 0usize),
        (0, 1),
        (0, 4096),
        (1, 100),
        (65535, 70000),
        (data.len() - 7, 7),
    ] {
        let mut buf = vec![0u8; len];
        store
            .read_exact_at(off as u64, &mut buf)
            .expect("read in range");
        assert_eq!(buf, &data[off..off + len], "read_exact_at({off}, {len})");
    }

    for &(off, len) in &[
        (data.len() as u64 - 3, 4usize),
        (data.len() as u64 + 10, 1),
        (u64::MAX - 1, 2),
    ] {
        let mut buf = vec![0u8; len];
        let err = store
            .read_exact_at(off, &mut buf)
            .expect_err("read past end must fail");
        assert_eq!(
            err.kind(),
            ErrorKind::UnexpectedEof,
            "read_exact_at({off}, {len}) past end: {err}"
        );
    }

    let ranges = [(10u64, 20usize), (30, 5), (5000, 100_000), (0, 0)];
    let merged = store.read_ranges(&ranges).expect("read_ranges");
    let sparse = store.read_sparse(&ranges).expect("read_sparse");
    for (what, got) in [("read_ranges", merged), ("read_sparse", sparse)] {
        for ((off, len), buf) in ranges.iter().zip(&got) {
            assert_eq!(
                buf.as_slice(),
                &data[*off as usize..*off as usize + len],
                "{what}"
            );
        }
    }

    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (store, data) = (&store, &data);
            s.spawn(move || {
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for _ in 0..200 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let off = (x % data.len() as u64) as usize;
                    let len = ((x >> 32) % 9000) as usize;
                    let len = len.min(data.len() - off);
                    let mut buf = vec![0u8; len];
                    store
                        .read_exact_at(off as u64, &mut buf)
                        .expect("concurrent read");
                    assert_eq!(buf, &data[off..off + len], "concurrent read at {off}");
                }
            });
        }
    });

    let empty = make(&[]);
    assert_eq!(empty.len().expect("len"), 0);
    let mut one = [0u8; 1];
    assert!(
        empty.read_exact_at(0, &mut one).is_err(),
        "read from empty store"
    );
    assert!(!store.describe().is_empty(), "describe");
}
