//! `read_batch` (many ranges, one call, decoded in parallel) and `prefetch` hints.

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
