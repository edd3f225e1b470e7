//! One stream of generated data, read back whole and at random offsets and lengths.

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
