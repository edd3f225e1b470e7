//! Property tests of every write → read round trip: any data, block size, codec and thread
//! count gives back exactly the bytes written, through `read_at`, entries, records and metadata.
#![allow(clippy::unwrap_used)]

mod common;

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

mod stream {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn read_at_returns_the_input(
            segs in segs(80_000, 8),
            wopts in write_opts(),
            ropts in read_opts(),
            as_stream in any::<bool>(),
            reqs in prop::collection::vec((any::<u8>(), any::<u64>(), any::<u64>()), 1..40),
        ) {
            let data = expand(&segs, MAX_DATA);
            let bs = wopts.block_size as u64;
            let file = build(wopts, |w| {
                if as_stream {
                    w.add_stream("disk", &data[..], meta(1)).map(|_| ())
                } else {
                    w.add_bytes("data.bin", &data, meta(1))
                }
            })
            .unwrap();
            let a = open_mem(&file, ropts).unwrap();
            prop_assert_eq!(a.len(), data.len() as u64);
            prop_assert_eq!(a.header().block_size as u64, bs);
            prop_assert!(a.read_vec(0, data.len() + 10).unwrap() == data);
            for (off, n) in ranges(&reqs, data.len() as u64, bs) {
                check_read(&a, &data, off, n);
            }
            // Sequential reads (the read-ahead path) in odd-sized steps.
            let step = (bs as usize * 3 / 2).max(1);
            let mut buf = vec![0u8; step];
            let mut pos = 0usize;
            while pos < data.len() {
                let n = a.read_at(pos as u64, &mut buf).unwrap();
                prop_assert!(n > 0);
                prop_assert!(buf[..n] == data[pos..pos + n], "sequential read at {}", pos);
                pos += n;
            }
            let e = a.entries().unwrap();
            prop_assert_eq!(e.len(), 1);
            prop_assert_eq!(e[0].size, data.len() as u64);
            let kind = if as_stream { EntryKind::Stream } else { EntryKind::File };
            prop_assert_eq!(e[0].kind, kind);
            verify_ok(&a);
        }
    }
}

/// `read_batch` (many ranges, one call, decoded in parallel) and `prefetch` hints.
mod batch {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn read_batch_matches_single_reads(
            segs in segs(60_000, 6),
            wopts in write_opts(),
            ropts in read_opts(),
            reqs in prop::collection::vec((any::<u64>(), any::<u64>()), 0..30),
            hints in prop::collection::vec((any::<u64>(), any::<u64>()), 0..4),
        ) {
            let data = expand(&segs, MAX_DATA);
            let file = build(wopts, |w| w.add_bytes("d", &data, meta(0))).unwrap();
            let a = open_mem(&file, ropts).unwrap();
            let len = data.len() as u64;
            for &(o, l) in &hints {
                a.prefetch(o % (len + 10), l >> (l % 64));
            }
            let ranges: Vec<(u64, usize)> = reqs
                .iter()
                .map(|&(o, l)| {
                    let off = o % (len + 1);
                    (off, (l % (len - off + 1)).min(100_000) as usize)
                })
                .collect();
            let total: usize = ranges.iter().map(|r| r.1).sum();
            let mut out = vec![0u8; total];
            a.read_batch(&ranges, &mut out).unwrap();
            let want: Vec<u8> = ranges
                .iter()
                .flat_map(|&(o, l)| data[o as usize..o as usize + l].iter().copied())
                .collect();
            prop_assert!(out == want);
            // A buffer of the wrong size, or a range past the end, is an error.
            let mut short = vec![0u8; total + 1];
            prop_assert!(matches!(a.read_batch(&ranges, &mut short), Err(Error::InvalidInput(_))), "size mismatch");
            let mut one = vec![0u8; 1];
            prop_assert!(matches!(a.read_batch(&[(len, 1)], &mut one), Err(Error::OutOfRange(_))), "past the end");
        }
    }

    #[test]
    fn prefetch_out_of_range_is_harmless() {
        let data = hexz_testkit::data::mixed_data(5, 300_000);
        let file = build(WriteOptions::default(), |w| {
            w.add_bytes("d", &data, meta(0))
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        for (o, l) in [
            (0, 0),
            (0, u64::MAX),
            (u64::MAX, u64::MAX),
            (299_999, 5),
            (300_000, 1),
            (5, 1),
        ] {
            a.prefetch(o, l);
        }
        assert!(a.read_vec(0, data.len()).unwrap() == data);
    }

    #[test]
    fn read_batch_with_overflowing_lengths_is_an_error() {
        let file = build(WriteOptions::default(), |w| {
            w.add_bytes("d", b"abc", meta(0))
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        let mut one = [0u8; 1];
        let r = a.read_batch(&[(0, usize::MAX), (0, 2)], &mut one);
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }
}

mod entries {
    use super::*;

    #[derive(Debug, Clone, Copy)]
    enum How {
        Bytes,
        Reader,
        Stream,
    }

    fn how() -> impl Strategy<Value = How> {
        prop_oneof![Just(How::Bytes), Just(How::Reader), Just(How::Stream)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn every_entry_reads_back(
            files in prop::collection::vec((segs(20_000, 4), how()), 1..7),
            wopts in write_opts(),
            ropts in read_opts(),
            reqs in prop::collection::vec((any::<u64>(), any::<u64>()), 1..20),
        ) {
            let datas: Vec<Vec<u8>> = files.iter().map(|(s, _)| expand(s, 60_000)).collect();
            let paths: Vec<String> = (0..files.len())
                .map(|i| if i % 2 == 0 { format!("dir/f{i}") } else { format!("f{i}.bin") })
                .collect();
            let file = build(wopts, |w| {
                w.add_dir_entry("dir", meta(100))?;
                w.add_symlink("dir/link", "../f1.bin", meta(101))?;
                for (i, ((_, how), data)) in files.iter().zip(&datas).enumerate() {
                    let p = &paths[i];
                    match how {
                        How::Bytes => w.add_bytes(p, data, meta(i as u64))?,
                        How::Reader => {
                            w.add_reader(p, &data[..], meta(i as u64), None)?;
                        }
                        How::Stream => {
                            w.add_stream(p, &data[..], meta(i as u64))?;
                        }
                    }
                }
                Ok(())
            })
            .unwrap();
            let a = open_mem(&file, ropts).unwrap();
            let entries = a.entries().unwrap();
            prop_assert_eq!(entries.len(), files.len() + 2);
            for w in entries.windows(2) {
                prop_assert!(w[0].path.as_bytes() < w[1].path.as_bytes(), "sorted");
            }
            let dir = a.entry("dir").unwrap().unwrap();
            prop_assert_eq!(dir.kind, EntryKind::Dir);
            prop_assert_eq!((dir.mode, dir.mtime_ns), (meta(100).mode, meta(100).mtime_ns));
            let link = a.entry("dir/link").unwrap().unwrap();
            prop_assert_eq!(link.kind, EntryKind::Symlink);
            prop_assert_eq!(link.target.as_deref(), Some("../f1.bin"));
            prop_assert_eq!(a.entry("nope").unwrap(), None);
            for (i, ((_, how), data)) in files.iter().zip(&datas).enumerate() {
                let e = a.entry(&paths[i]).unwrap().expect("entry present");
                let kind = if matches!(how, How::Stream) { EntryKind::Stream } else { EntryKind::File };
                prop_assert_eq!(e.kind, kind);
                prop_assert_eq!(e.size, data.len() as u64);
                prop_assert_eq!((e.mode, e.mtime_ns), (meta(i as u64).mode, meta(i as u64).mtime_ns));
                prop_assert_eq!(e.target.as_deref(), None);
                let mut whole = vec![0u8; data.len() + 7];
                let n = a.read_entry_at(&e, 0, &mut whole).unwrap();
                prop_assert_eq!(n, data.len());
                prop_assert!(whole[..n] == data[..]);
                for &(o, l) in &reqs {
                    let off = o % (data.len() as u64 + 2);
                    let mut buf = vec![0u8; (l % 9000) as usize];
                    let n = a.read_entry_at(&e, off, &mut buf).unwrap();
                    let start = (off as usize).min(data.len());
                    let end = (start + buf.len()).min(data.len());
                    prop_assert_eq!(n, end - start);
                    prop_assert!(buf[..n] == data[start..end]);
                }
            }
            verify_ok(&a);
        }
    }
}

mod records {
    use super::*;

    const NUMERIC: [DType; 15] = [
        DType::Bool,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::F16,
        DType::F32,
        DType::F64,
        DType::BF16,
        DType::C64,
        DType::C128,
    ];

    #[derive(Debug, Clone)]
    enum Group {
        /// dtype index, rows, sample shape, data seed.
        Array(usize, u64, Vec<u64>, u64),
        /// Opaque records of these lengths.
        Opaque(Vec<usize>, u64),
    }

    fn group() -> impl Strategy<Value = Group> {
        prop_oneof![
            (
                0..NUMERIC.len(),
                1..40u64,
                prop::collection::vec(0..6u64, 0..4),
                any::<u64>()
            )
                .prop_map(|(d, r, s, seed)| Group::Array(d, r, s, seed)),
            (prop::collection::vec(0..3000usize, 1..30), any::<u64>())
                .prop_map(|(l, seed)| Group::Opaque(l, seed)),
        ]
    }

    /// A group as written: name, dtype, sample shape, rows as byte vectors.
    type Expected = (String, DType, Vec<u64>, Vec<Vec<u8>>);

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn groups_and_records_round_trip(
            groups in prop::collection::vec(group(), 1..5),
            wopts in write_opts(),
            ropts in read_opts(),
            with_file in any::<bool>(),
        ) {
            let mut expected: Vec<Expected> = Vec::new();
            for (gi, g) in groups.iter().enumerate() {
                match g {
                    Group::Array(d, rows, shape, seed) => {
                        let dtype = NUMERIC[*d];
                        let row = shape.iter().product::<u64>() as usize * dtype.itemsize();
                        let mut rng = Rng::new(*seed);
                        let rows = (0..*rows).map(|_| rng.bytes(row)).collect();
                        expected.push((format!("array{gi}"), dtype, shape.clone(), rows));
                    }
                    Group::Opaque(lens, seed) => {
                        let mut rng = Rng::new(*seed);
                        let rows = lens.iter().map(|&l| rng.bytes(l)).collect();
                        expected.push((format!("opaque/{gi}"), DType::Bytes, vec![], rows));
                    }
                }
            }
            let file = build(wopts, |w| {
                if with_file {
                    w.add_bytes("readme.txt", b"records follow", meta(0))?;
                }
                for (name, dtype, shape, rows) in &expected {
                    if *dtype == DType::Bytes {
                        w.begin_records(name, *dtype, shape)?;
                        for r in rows {
                            w.add_record(r)?;
                        }
                    } else {
                        let full: Vec<u64> =
                            std::iter::once(rows.len() as u64).chain(shape.iter().copied()).collect();
                        w.add_array(name, *dtype, &full, &rows.concat())?;
                    }
                }
                Ok(())
            })
            .unwrap();
            let a = open_mem(&file, ropts).unwrap();
            let total: u64 = expected.iter().map(|g| g.3.len() as u64).sum();
            prop_assert_eq!(a.record_count(), total);
            let got = a.record_groups().unwrap();
            prop_assert_eq!(got.len(), expected.len());
            let mut first = 0u64;
            for (g, (name, dtype, shape, rows)) in got.iter().zip(&expected) {
                prop_assert_eq!(&g.name, name);
                prop_assert_eq!(g.dtype, *dtype);
                prop_assert_eq!(&g.shape, shape);
                prop_assert_eq!(g.first_record, first);
                prop_assert_eq!(g.record_count, rows.len() as u64);
                for (j, row) in rows.iter().enumerate() {
                    let r = a.record(first + j as u64).unwrap();
                    prop_assert_eq!(r.length, row.len() as u64);
                    if let Some(n) = g.sample_bytes() {
                        prop_assert_eq!(n, r.length);
                    }
                    let mut buf = vec![0u8; row.len()];
                    a.read_exact_at(r.offset, &mut buf).unwrap();
                    prop_assert!(&buf == row, "record {}", first + j as u64);
                }
                first += rows.len() as u64;
            }
            prop_assert!(matches!(a.record(total), Err(Error::OutOfRange(_))));
            if with_file {
                let e = a.entry("readme.txt").unwrap().unwrap();
                prop_assert_eq!(a.read_vec(e.data_offset, e.size as usize).unwrap(), b"records follow");
            }
            verify_ok(&a);
        }
    }

    /// More than one record page (4096 records per page) and records crossing blocks.
    #[test]
    fn many_records_span_pages() {
        let n = 9000u64;
        let data: Vec<u8> = (0..n * 3).map(|i| (i * 7 % 251) as u8).collect();
        let file = build(
            WriteOptions {
                block_size: 4096,
                ..Default::default()
            },
            |w| w.add_array("x", DType::U8, &[n, 3], &data),
        )
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        assert_eq!(a.summary().record_pages.len(), 3);
        for i in [0, 1, 4095, 4096, 4097, 8191, 8192, n - 1] {
            let r = a.record(i).unwrap();
            assert_eq!((r.offset, r.length), (i * 3, 3));
            assert_eq!(
                a.read_vec(r.offset, 3).unwrap(),
                &data[i as usize * 3..][..3]
            );
        }
        verify_ok(&a);
    }
}

mod metadata {
    use super::*;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[ -~é漢\\n]{0,20}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn metadata_bytes_round_trip(
            obj in prop::collection::btree_map("[a-zA-Z0-9_.]{1,12}", json_value(), 0..8),
            pretty in any::<bool>(),
            with_data in any::<bool>(),
        ) {
            let v = serde_json::Value::Object(obj.into_iter().collect());
            let json = if pretty {
                serde_json::to_vec_pretty(&v).unwrap()
            } else {
                serde_json::to_vec(&v).unwrap()
            };
            let file = build(WriteOptions::default(), |w| {
                if with_data {
                    w.add_bytes("x", &[1, 2, 3], meta(0))?;
                }
                w.set_metadata(&json)
            })
            .unwrap();
            let a = open_mem(&file, ReadOptions::default()).unwrap();
            prop_assert_eq!(a.metadata().unwrap(), Some(json));
            verify_ok(&a);
        }
    }

    #[test]
    fn absent_metadata_is_none() {
        let file = build(WriteOptions::default(), |w| {
            w.add_bytes("x", b"abc", meta(0))
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        assert_eq!(a.metadata().unwrap(), None);
    }

    #[test]
    fn metadata_must_be_a_json_object() {
        let out = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let mut w = hexz_core::ArchiveWriter::with_sink(
            Box::new(hexz_core::sink::VecSink::new(out)),
            WriteOptions::default(),
        )
        .unwrap();
        for bad in [&b"[1,2]"[..], b"3", b"\"s\"", b"{", b"", b"\xff"] {
            assert!(
                matches!(w.set_metadata(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        w.set_metadata(b"{}").unwrap();
    }
}

mod edge_cases {
    use super::*;

    #[test]
    fn empty_archive() {
        let file = build(WriteOptions::default(), |_| Ok(())).unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        assert_eq!(a.len(), 0);
        assert!(a.is_empty());
        assert_eq!(a.entries().unwrap().len(), 0);
        assert_eq!(a.record_groups().unwrap().len(), 0);
        assert_eq!(a.record_count(), 0);
        let mut buf = [0u8; 10];
        assert_eq!(a.read_at(0, &mut buf).unwrap(), 0);
        assert_eq!(a.read_at(u64::MAX, &mut buf).unwrap(), 0);
        assert!(matches!(
            a.read_exact_at(0, &mut buf),
            Err(Error::OutOfRange(_))
        ));
        assert!(matches!(a.record(0), Err(Error::OutOfRange(_))));
        verify_ok(&a);
    }

    #[test]
    fn empty_files_and_only_dirs() {
        let file = build(WriteOptions::default(), |w| {
            w.add_bytes("a", b"", meta(0))?;
            w.add_dir_entry("d", meta(1))?;
            w.add_bytes("d/z", b"", meta(2))
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        assert_eq!(a.len(), 0);
        let e = a.entry("d/z").unwrap().unwrap();
        assert_eq!(e.size, 0);
        let mut buf = [0u8; 4];
        assert_eq!(a.read_entry_at(&e, 0, &mut buf).unwrap(), 0);
        verify_ok(&a);
    }

    #[test]
    fn array_with_zero_sized_rows() {
        let file = build(WriteOptions::default(), |w| {
            w.add_array("empty_rows", DType::F32, &[4, 0, 3], &[])
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        assert_eq!(a.record_count(), 4);
        for i in 0..4 {
            assert_eq!(a.record(i).unwrap().length, 0);
        }
        verify_ok(&a);
    }

    #[test]
    fn array_with_zero_rows_opens() {
        let file = build(WriteOptions::default(), |w| {
            w.add_array("nothing", DType::U8, &[0, 5], &[])
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        let g = a.record_groups().unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].record_count, 0);
        verify_ok(&a);
    }

    #[test]
    fn scalar_array_is_one_record() {
        let v = 1.5f64.to_le_bytes();
        let file = build(WriteOptions::default(), |w| {
            w.add_array("s", DType::F64, &[], &v)
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        assert_eq!(a.record_count(), 1);
        let g = a.record_groups().unwrap();
        assert_eq!(g[0].shape, Vec::<u64>::new());
        assert_eq!(a.read_vec(a.record(0).unwrap().offset, 8).unwrap(), v);
    }

    #[test]
    fn writer_rejects_bad_input() {
        for bs in [0u32, 1024, 4095, 5000, 32 << 20] {
            let r = build(
                WriteOptions {
                    block_size: bs,
                    ..Default::default()
                },
                |_| Ok(()),
            );
            assert!(matches!(r, Err(Error::InvalidInput(_))), "block size {bs}");
        }
        let dup = build(WriteOptions::default(), |w| {
            w.add_bytes("a", b"1", meta(0))?;
            w.add_dir_entry("a", meta(0))
        });
        assert!(matches!(dup, Err(Error::DuplicateEntry(p)) if p == "a"));
        for bad in ["", "/abs", "a/../b", "a//b", "./a", "nul\0"] {
            let r = build(WriteOptions::default(), |w| w.add_bytes(bad, b"x", meta(0)));
            assert!(matches!(r, Err(Error::InvalidInput(_))), "path {bad:?}");
        }
        let shape = build(WriteOptions::default(), |w| {
            w.add_array("x", DType::F32, &[2, 2], &[0u8; 15])
        });
        assert!(matches!(shape, Err(Error::InvalidInput(_))));
        let rec = build(WriteOptions::default(), |w| w.add_record(b"x"));
        assert!(matches!(rec, Err(Error::InvalidInput(_))));
    }

    /// Identical blocks are stored once with dedup, and every copy still reads back.
    #[test]
    fn dedup_stores_repeats_once() {
        let block: Vec<u8> = Rng::new(9).bytes(4096);
        let data: Vec<u8> = block.repeat(20);
        let mk = |dedup| {
            build(
                WriteOptions {
                    block_size: 4096,
                    compression: Compression::None,
                    dedup,
                    ..Default::default()
                },
                |w| w.add_bytes("r", &data, meta(0)),
            )
            .unwrap()
        };
        let (small, big) = (mk(true), mk(false));
        assert!(
            small.len() + 19 * 4096 <= big.len(),
            "{} vs {}",
            small.len(),
            big.len()
        );
        for f in [small, big] {
            let a = open_mem(&f, ReadOptions::default()).unwrap();
            assert_eq!(a.read_vec(0, data.len()).unwrap(), data);
            verify_ok(&a);
        }
    }
}
