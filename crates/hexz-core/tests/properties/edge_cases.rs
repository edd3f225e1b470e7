//! Empty archives, empty files, zero-sized rows, bad writer input and deduplication.

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
