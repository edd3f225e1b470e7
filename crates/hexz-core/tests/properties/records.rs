//! Record groups (arrays and variable-length samples): every record comes back as written.

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
