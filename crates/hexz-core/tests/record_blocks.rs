//! Record-aligned blocks and gathered reads: a record that fits in a block never straddles
//! two, a shuffled read of one record decodes about that record, and raw blocks of a
//! memory-mapped archive are served in place.
#![allow(clippy::unwrap_used)]
use hexz_core::{
    Archive, ArchiveWriter, Compression, DType, Placed, ReadOptions, WriteOptions,
    DEFAULT_RECORD_BLOCK_MIN,
};
use hexz_testkit::Rng;

/// Record `i` of `len` bytes: its index, then bytes that compress (or not, seeded by `i`).
fn record(i: u64, len: usize, compressible: bool) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    if compressible {
        while v.len() < len {
            v.push((v.len() / 64) as u8);
        }
    } else {
        v.extend(Rng::new(i).bytes(len.saturating_sub(v.len())));
    }
    v
}

fn sizes() -> Vec<usize> {
    // 4–16 KB, some larger than the 64 KiB block and some tiny.
    let mut s: Vec<usize> = (0..300).map(|i| 4096 + (i * 7919) % 12289).collect();
    s[17] = 200_000;
    s[40] = 70_000;
    s[41] = 10;
    s[42] = 3;
    s
}

fn write(path: &std::path::Path, compressible: bool, record_block_min: u32) -> Vec<Vec<u8>> {
    let recs: Vec<Vec<u8>> = sizes()
        .iter()
        .enumerate()
        .map(|(i, &n)| record(i as u64, n, compressible))
        .collect();
    let mut w = ArchiveWriter::create(
        path,
        WriteOptions {
            compression: Compression::Lz4,
            record_block_min,
            ..WriteOptions::default()
        },
    )
    .unwrap();
    w.begin_records("s", DType::Bytes, &[]).unwrap();
    for r in &recs {
        w.add_record(r).unwrap();
    }
    w.finish().unwrap();
    recs
}

fn mapped(path: &std::path::Path) -> Archive {
    Archive::open_with_options(
        path,
        ReadOptions {
            mmap: true,
            readahead_threads: 0,
            ..ReadOptions::default()
        },
    )
    .unwrap()
}

/// The `(offset, length)` of records `ids`, as `read_gather` takes them.
fn record_ranges(a: &Archive, ids: &[u64]) -> Vec<(u64, usize)> {
    ids.iter()
        .map(|&i| {
            let r = a.record(i).unwrap();
            (r.offset, r.length as usize)
        })
        .collect()
}

#[test]
fn records_that_fit_never_straddle_blocks() {
    let dir = tempfile::tempdir().unwrap();
    for min in [DEFAULT_RECORD_BLOCK_MIN, 0, 32 << 10] {
        let path = dir.path().join(format!("r{min}.hxz"));
        write(&path, true, min);
        let a = Archive::open(&path).unwrap();
        let blocks: Vec<_> = a.blocks().map(Result::unwrap).collect();
        let block_of = |off: u64| blocks.partition_point(|b| b.logical_offset <= off) - 1;
        for i in 0..a.record_count() {
            let r = a.record(i).unwrap();
            let (first, last) = (block_of(r.offset), block_of(r.offset + r.length - 1));
            if r.length <= 64 << 10 {
                assert_eq!(first, last, "record {i} of {} bytes (min {min})", r.length);
            } else {
                // A large record starts a block and ends one: it shares with no other.
                assert_eq!(blocks[first].logical_offset, r.offset);
                let b = &blocks[last];
                assert_eq!(b.logical_offset + b.raw_len as u64, r.offset + r.length);
            }
        }
        if min == DEFAULT_RECORD_BLOCK_MIN {
            // 4–16 KB records: one block each; the tiny ones share.
            let (r41, r42) = (a.record(41).unwrap(), a.record(42).unwrap());
            assert_eq!(block_of(r41.offset), block_of(r42.offset));
            let r = a.record(5).unwrap();
            assert_eq!(blocks[block_of(r.offset)].raw_len as u64, r.length);
        }
    }
}

#[test]
fn shuffled_gather_decodes_about_what_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.hxz");
    let recs = write(&path, true, DEFAULT_RECORD_BLOCK_MIN);
    let a = mapped(&path);
    let order: Vec<u64> = (0..recs.len() as u64).map(|i| (i * 131) % 300).collect();
    for batch in order.chunks(64) {
        let ranges = record_ranges(&a, batch);
        let (buf, placed) = a.read_gather(&ranges).unwrap();
        for (k, &i) in batch.iter().enumerate() {
            let Placed::Buffer(start) = placed[k] else {
                panic!("compressed record {i} placed in the map")
            };
            assert_eq!(&buf[start..start + ranges[k].1], &recs[i as usize][..]);
        }
    }
    let s = a.stats();
    let total: u64 = recs.iter().map(|r| r.len() as u64).sum();
    assert_eq!(s.bytes_returned, total);
    assert!(s.amplification() <= 1.05, "{s:?}");
    assert_eq!(s.bytes_mapped, 0);
}

#[test]
fn raw_blocks_are_served_from_the_map_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.hxz");
    let recs = write(&path, false, DEFAULT_RECORD_BLOCK_MIN);
    let a = mapped(&path);
    let map = a.store().mapped().unwrap();
    let ranges = record_ranges(&a, &[3, 200, 17, 41]);
    let (buf, placed) = a.read_gather(&ranges).unwrap();
    for (k, &i) in [3usize, 200, 17, 41].iter().enumerate() {
        let bytes = match placed[k] {
            Placed::Mapped(at) => &map[at..at + ranges[k].1],
            Placed::Buffer(at) => &buf[at..at + ranges[k].1],
        };
        assert_eq!(bytes, &recs[i][..], "record {i}");
    }
    // 3 and 200 lie in one raw block each; 17 (200 KB) spans blocks and is copied.
    assert!(matches!(placed[0], Placed::Mapped(_)));
    assert!(matches!(placed[1], Placed::Mapped(_)));
    assert!(matches!(placed[2], Placed::Buffer(_)));
    let s = a.stats();
    assert_eq!(
        s.bytes_mapped,
        (ranges[0].1 + ranges[1].1 + ranges[3].1) as u64
    );

    // A flipped byte in a raw block: refused, not returned.
    let mut bytes = std::fs::read(&path).unwrap();
    let Placed::Mapped(at) = placed[0] else {
        unreachable!()
    };
    bytes[at + 100] ^= 1;
    let bad = dir.path().join("bad.hxz");
    std::fs::write(&bad, &bytes).unwrap();
    let err = mapped(&bad).read_gather(&ranges[..1]).unwrap_err();
    assert!(err.to_string().contains("crc32c"), "{err}");
}

/// Resident kilobytes of this process's mappings of `path` (Linux `/proc/self/smaps`).
#[cfg(target_os = "linux")]
fn resident_kib(path: &std::path::Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let name = path.to_str().unwrap();
    let mut in_map = false;
    let mut kib = 0;
    for line in smaps.lines() {
        if line.contains('-') && line.split_whitespace().count() >= 5 {
            in_map = line.ends_with(name);
        } else if in_map && line.starts_with("Rss:") {
            kib += line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
    }
    kib
}

#[cfg(target_os = "linux")]
#[test]
fn served_map_pages_are_released_and_views_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.hxz");
    let recs = write(&path, false, DEFAULT_RECORD_BLOCK_MIN);
    let a = mapped(&path);
    let map = a.store().mapped().unwrap();
    let ids: Vec<u64> = (0..recs.len() as u64)
        .filter(|&i| i != 17 && i != 40)
        .collect();
    let ranges = record_ranges(&a, &ids);
    let (_, placed) = a.read_gather(&ranges).unwrap();
    let resident = resident_kib(&path);
    assert!(
        resident > 1024,
        "serving ~3 MB from the map touched {resident} KiB"
    );
    a.store().release_mapped();
    assert!(resident_kib(&path) < resident / 4, "pages stayed mapped");
    for (k, &i) in ids.iter().enumerate() {
        let Placed::Mapped(at) = placed[k] else {
            continue;
        };
        assert_eq!(
            &map[at..at + ranges[k].1],
            &recs[i as usize][..],
            "record {i}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn gathers_release_the_map_every_so_many_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.hxz");
    let recs = write(&path, false, DEFAULT_RECORD_BLOCK_MIN);
    let a = mapped(&path);
    let ids: Vec<u64> = (0..recs.len() as u64)
        .filter(|&i| i != 17 && i != 40)
        .collect();
    let ranges = record_ranges(&a, &ids);
    let per_pass: u64 = ranges.iter().map(|r| r.1 as u64).sum();
    // Enough passes to serve RELEASE_MAPPED_EVERY bytes; the next gather releases first.
    let passes = hexz_core::RELEASE_MAPPED_EVERY.div_ceil(per_pass);
    for _ in 0..passes {
        a.read_gather(&ranges).unwrap();
    }
    assert!(resident_kib(&path) > 1024);
    let (buf, placed) = a.read_gather(&ranges[..1]).unwrap();
    assert!(buf.is_empty() && matches!(placed[0], Placed::Mapped(_)));
    assert!(
        resident_kib(&path) < 1024,
        "{} KiB resident",
        resident_kib(&path)
    );
}
