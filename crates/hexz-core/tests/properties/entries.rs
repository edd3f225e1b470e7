//! Trees of files, directories and symlinks: every entry and its bytes come back as written.

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
