//! One `Archive` shared by many threads: random and sequential readers, with a cache small
//! enough to evict and read-ahead on, always see the source bytes.
#![allow(clippy::unwrap_used)]

use hexz_core::verify::verify;
use hexz_core::{Archive, ArchiveWriter, Compression, EntryMeta, ReadOptions, WriteOptions};
use hexz_testkit::data::mixed_data;
use hexz_testkit::Rng;
use std::path::PathBuf;
use std::sync::OnceLock;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    /// Entry path, data.
    files: Vec<(String, Vec<u8>)>,
    logical: Vec<u8>,
}

/// About 20 MB of mixed data in three files (16 KiB blocks: 1280 of them, one index page).
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let files = vec![
            ("a.bin".to_string(), mixed_data(11, 7 << 20)),
            ("dir/b.bin".to_string(), mixed_data(12, 9 << 20)),
            ("dir/c.bin".to_string(), mixed_data(13, (4 << 20) + 12345)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.hxz");
        let mut w = ArchiveWriter::create(
            &path,
            WriteOptions {
                block_size: 16 << 10,
                compression: Compression::Lz4,
                ..Default::default()
            },
        )
        .unwrap();
        for (p, d) in &files {
            w.add_bytes(p, d, EntryMeta::default()).unwrap();
        }
        w.finish().unwrap();
        let logical = files.iter().flat_map(|f| f.1.iter().copied()).collect();
        Fixture {
            _dir: dir,
            path,
            files,
            logical,
        }
    })
}

fn open(cache_bytes: usize, readahead_threads: usize) -> Archive {
    Archive::open_with_options(
        &fixture().path,
        ReadOptions {
            cache_bytes,
            readahead_threads,
            readahead_blocks: 16,
            verify_hashes: false,
            key: None,
            ..ReadOptions::default()
        },
    )
    .unwrap()
}

fn check_range(a: &Archive, off: u64, len: usize, ctx: &str) {
    let src = &fixture().logical;
    let mut buf = vec![0u8; len];
    let n = a.read_at(off, &mut buf).unwrap();
    let start = (off as usize).min(src.len());
    let end = (start + len).min(src.len());
    assert_eq!(n, end - start, "{ctx}: read_at({off}, {len})");
    assert!(buf[..n] == src[start..end], "{ctx}: bytes at {off}+{len}");
}

mod random_readers {
    use super::*;

    #[test]
    fn sixteen_threads_random_ranges() {
        let f = fixture();
        let a = open(2 << 20, 4);
        let total = a.len();
        assert_eq!(total, f.logical.len() as u64);
        std::thread::scope(|s| {
            for t in 0..16u64 {
                let a = &a;
                s.spawn(move || {
                    let mut rng = Rng::new(1000 + t);
                    for i in 0..400 {
                        let off = rng.below(total + 1000);
                        let len = match rng.below(4) {
                            0 => rng.below(100) as usize,
                            1 => rng.below(20_000) as usize,
                            2 => rng.below(200_000) as usize,
                            _ => (16 << 10) - (off % (16 << 10)) as usize + rng.below(10) as usize,
                        };
                        check_range(a, off, len, &format!("thread {t} read {i}"));
                    }
                });
            }
        });
        assert!(
            a.cached_bytes() <= 2 << 20,
            "cache over budget: {}",
            a.cached_bytes()
        );
    }

    #[test]
    fn threads_reading_entries_and_blocks() {
        let f = fixture();
        let a = open(1 << 20, 2);
        std::thread::scope(|s| {
            for t in 0..16u64 {
                let a = &a;
                s.spawn(move || {
                    let mut rng = Rng::new(2000 + t);
                    for _ in 0..60 {
                        let (path, data) = &f.files[rng.below(f.files.len() as u64) as usize];
                        let e = a.entry(path).unwrap().unwrap();
                        assert_eq!(e.size, data.len() as u64);
                        let off = rng.below(e.size + 10);
                        let mut buf = vec![0u8; rng.below(50_000) as usize];
                        let n = a.read_entry_at(&e, off, &mut buf).unwrap();
                        let start = (off as usize).min(data.len());
                        let end = (start + buf.len()).min(data.len());
                        assert_eq!(n, end - start);
                        assert!(buf[..n] == data[start..end], "{path} at {off}");
                        let lo = rng.below(a.len());
                        let (first, block) = a.block_at(lo).unwrap();
                        assert!(first <= lo && lo < first + block.len() as u64);
                        assert!(
                            block[..] == f.logical[first as usize..first as usize + block.len()]
                        );
                    }
                });
            }
        });
    }
}

mod sequential_readers {
    use super::*;

    fn scan(a: &Archive, start: u64, step: usize, ctx: &str) {
        let src = &fixture().logical;
        let mut buf = vec![0u8; step];
        let mut pos = start;
        while pos < a.len() {
            let n = a.read_at(pos, &mut buf).unwrap();
            assert!(n > 0, "{ctx}: no progress at {pos}");
            assert!(
                buf[..n] == src[pos as usize..pos as usize + n],
                "{ctx}: bytes at {pos}"
            );
            pos += n as u64;
        }
    }

    #[test]
    fn several_threads_scan_the_whole_stream() {
        let a = open(2 << 20, 4);
        std::thread::scope(|s| {
            for (t, step) in [(0u64, 65_536usize), (1, 100_000), (2, 4_096), (3, 1 << 20)] {
                let a = &a;
                s.spawn(move || {
                    let start = t * 1_234_567 % (a.len() / 2);
                    scan(a, start, step, &format!("scanner {t}"));
                });
            }
        });
    }

    #[test]
    fn scanners_random_readers_and_verify_together() {
        let a = open(1 << 20, 4);
        std::thread::scope(|s| {
            let a = &a;
            for t in 0..2u64 {
                s.spawn(move || scan(a, t * 777_777, 128 << 10, &format!("scanner {t}")));
            }
            for t in 0..4u64 {
                s.spawn(move || {
                    let mut rng = Rng::new(3000 + t);
                    for i in 0..50 {
                        let off = rng.below(a.len());
                        check_range(a, off, rng.below(70_000) as usize, &format!("random {i}"));
                    }
                });
            }
            s.spawn(move || {
                let r = verify(a, &|_| {}).unwrap();
                assert!(r.is_ok(), "{:?}", r.problems);
            });
        });
    }

    /// Dropping an archive while read-ahead threads are busy neither hangs nor crashes.
    #[test]
    fn drop_during_read_ahead() {
        for i in 0..20u64 {
            let a = open(4 << 20, 4);
            let mut buf = vec![0u8; 16 << 10];
            let start = i * 997 * 16_384 % (a.len() / 2);
            a.read_at(start, &mut buf).unwrap();
            a.read_at(start + buf.len() as u64, &mut buf).unwrap();
            drop(a);
        }
    }
}
