//! The writer's sources and its output file: directory trees (modes, mtimes, symlinks),
//! files, readers that return short reads or fail, reports and progress, and the atomic
//! commit (nothing at the target until `finish`, an existing file untouched on failure).
#![allow(clippy::unwrap_used)]

mod common;

use common::{build, open_mem};
use hexz_core::{
    Archive, ArchiveWriter, Compression, EntryKind, EntryMeta, Error, ReadOptions, WriteOptions,
};
use hexz_testkit::data::mixed_data;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn opts() -> WriteOptions {
    WriteOptions {
        block_size: 4096,
        ..Default::default()
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hexz-tmp"))
        .collect()
}

mod trees {
    use super::*;

    fn set_mtime(p: &Path, t: SystemTime) {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(t).unwrap();
    }

    fn ns(t: SystemTime) -> i64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64
    }

    /// A tree: nested dirs, an empty dir, an empty file, a large file, a symlink.
    fn make_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        let files = vec![
            ("a.txt".to_string(), b"alpha\n".to_vec()),
            ("sub/big.bin".to_string(), mixed_data(21, 70_000)),
            ("sub/deeper/c.txt".to_string(), b"gamma".repeat(1000)),
            ("sub/empty".to_string(), Vec::new()),
            ("z".to_string(), mixed_data(22, 5000)),
        ];
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(root.join("emptydir")).unwrap();
        for (p, d) in &files {
            std::fs::write(root.join(p), d).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::os::unix::fs::symlink("../a.txt", root.join("sub/link")).unwrap();
            for (p, mode) in [("a.txt", 0o640), ("z", 0o755), ("sub/deeper", 0o700)] {
                std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(mode))
                    .unwrap();
            }
        }
        let t = UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
        set_mtime(&root.join("a.txt"), t);
        files
    }

    #[test]
    fn add_dir_round_trips_the_tree() {
        let src = tempfile::tempdir().unwrap();
        let files = make_tree(src.path());
        let file = build(opts(), |w| w.add_dir(src.path(), "")).unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        let entries = a.entries().unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        let mut want = vec![
            "a.txt",
            "emptydir",
            "sub",
            "sub/big.bin",
            "sub/deeper",
            "sub/deeper/c.txt",
            "sub/empty",
            "z",
        ];
        if cfg!(unix) {
            want.push("sub/link");
            want.sort();
        }
        assert_eq!(paths, want);
        for e in entries.iter() {
            let p = src.path().join(&e.path);
            let md = std::fs::symlink_metadata(&p).unwrap();
            assert_eq!(e.mtime_ns, ns(md.modified().unwrap()), "{} mtime", e.path);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(e.mode, md.permissions().mode() & 0o7777, "{} mode", e.path);
            }
            let kind = if md.file_type().is_symlink() {
                EntryKind::Symlink
            } else if md.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            assert_eq!(e.kind, kind, "{}", e.path);
        }
        for (p, d) in &files {
            let e = a.entry(p).unwrap().unwrap();
            assert_eq!(
                a.read_vec(e.data_offset, e.size as usize).unwrap(),
                *d,
                "{p}"
            );
        }
        let a_txt = a.entry("a.txt").unwrap().unwrap();
        assert_eq!(a_txt.mtime_ns, 1_600_000_000_123_456_789);
        #[cfg(unix)]
        {
            assert_eq!(a_txt.mode, 0o640);
            let link = a.entry("sub/link").unwrap().unwrap();
            assert_eq!(link.target.as_deref(), Some("../a.txt"));
            assert_eq!(a.entry("sub/deeper").unwrap().unwrap().mode, 0o700);
        }
    }

    #[test]
    fn prefix_and_filter() {
        let src = tempfile::tempdir().unwrap();
        make_tree(src.path());
        let file = build(opts(), |w| {
            w.add_dir_filtered(src.path(), "/root/", &|p: &Path| {
                p.file_name().is_some_and(|n| n != "sub")
            })
        })
        .unwrap();
        let a = open_mem(&file, ReadOptions::default()).unwrap();
        let paths: Vec<String> = a
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.path.clone())
            .collect();
        assert_eq!(paths, ["root/a.txt", "root/emptydir", "root/z"]);
    }

    #[test]
    fn missing_sources_are_source_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let r = build(opts(), |w| w.add_dir(&missing, ""));
        assert!(
            matches!(r, Err(Error::Source { ref path, .. }) if *path == missing),
            "{r:?}"
        );
        let r = build(opts(), |w| w.add_file(&missing, "x").map(|_| ()));
        assert!(matches!(r, Err(Error::Source { .. })), "{r:?}");
        let r = build(opts(), |w| w.add_file(dir.path(), "x").map(|_| ()));
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }
}

mod readers {
    use super::*;

    /// Returns at most `step` bytes per call and an `Interrupted` error every third call.
    struct Stuttering<'a> {
        data: &'a [u8],
        step: usize,
        calls: u32,
    }

    impl Read for Stuttering<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    struct Failing(u32);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("device gone"));
            }
            self.0 -= 1;
            buf[..100].fill(7);
            Ok(100)
        }
    }

    #[test]
    fn short_and_interrupted_reads() {
        let data = mixed_data(31, 200_000);
        for step in [1usize, 7, 4096, 5000, 1 << 20] {
            let d = &data[..if step == 1 { 20_000 } else { data.len() }];
            let file = build(opts(), |w| {
                let r = Stuttering {
                    data: d,
                    step,
                    calls: 0,
                };
                let n = w.add_stream("disk", r, EntryMeta::default())?;
                assert_eq!(n, d.len() as u64);
                Ok(())
            })
            .unwrap();
            let a = open_mem(&file, ReadOptions::default()).unwrap();
            assert!(a.read_vec(0, d.len()).unwrap() == d, "step {step}");
        }
    }

    #[test]
    fn a_failing_reader_is_a_source_error_naming_the_entry() {
        let r = build(opts(), |w| {
            w.add_reader("f", Failing(30), EntryMeta::default(), None)
                .map(|_| ())
        });
        assert!(
            matches!(&r, Err(Error::Source { path, .. }) if path.as_os_str() == "f"),
            "{r:?}"
        );
    }
}

mod reports {
    use super::*;

    #[test]
    fn write_report_counts() {
        let out = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let mut w = ArchiveWriter::with_sink(
            Box::new(hexz_core::sink::VecSink::new(out.clone())),
            WriteOptions {
                block_size: 4096,
                compression: Compression::Lz4,
                ..Default::default()
            },
        )
        .unwrap();
        let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        w.on_progress(move |n| s2.lock().push(n));
        let unique = mixed_data(41, 4096)
            .iter()
            .map(|b| b | 1)
            .collect::<Vec<u8>>();
        w.add_bytes("zeros", &[0u8; 3 * 4096], EntryMeta::default())
            .unwrap();
        w.add_bytes("u1", &unique, EntryMeta::default()).unwrap();
        w.add_bytes("u2", &unique, EntryMeta::default()).unwrap();
        w.add_array("r", hexz_core::DType::U8, &[3, 2], &[1, 2, 3, 4, 5, 6])
            .unwrap();
        assert_eq!(w.logical_size(), 5 * 4096 + 6);
        let r = w.finish().unwrap();
        assert_eq!(r.logical_size, 5 * 4096 + 6);
        assert_eq!(r.blocks, 6);
        assert_eq!(r.zero_blocks, 3);
        assert_eq!(r.dedup_blocks, 1);
        assert_eq!(r.stored_blocks, 2);
        assert_eq!(r.entries, 3);
        assert_eq!(r.records, 3);
        assert_eq!(r.file_len, out.lock().len() as u64);
        let p = seen.lock();
        assert!(p.windows(2).all(|w| w[0] <= w[1]), "progress is monotonic");
        assert_eq!(p.last().copied(), Some(5 * 4096 + 6));
    }
}

mod atomic_commit {
    use super::*;

    #[test]
    fn nothing_at_the_target_until_finish() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.hxz");
        let mut w = ArchiveWriter::create(&target, opts()).unwrap();
        w.add_bytes("a", &mixed_data(51, 100_000), EntryMeta::default())
            .unwrap();
        assert!(!target.exists(), "target appears before finish");
        assert_eq!(
            leftovers(dir.path()).len(),
            1,
            "one temporary file while writing"
        );
        w.finish().unwrap();
        assert!(target.exists());
        assert!(
            leftovers(dir.path()).is_empty(),
            "temporary file left behind"
        );
        let a = Archive::open(&target).unwrap();
        assert_eq!(a.len(), 100_000);
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.hxz");
        let mut w = ArchiveWriter::create(&target, opts()).unwrap();
        w.add_bytes("a", &mixed_data(52, 300_000), EntryMeta::default())
            .unwrap();
        drop(w);
        assert!(!target.exists());
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn failed_write_keeps_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.hxz");
        std::fs::write(&target, b"precious").unwrap();
        let mut w = ArchiveWriter::create(&target, opts()).unwrap();
        w.add_bytes("a", b"new", EntryMeta::default()).unwrap();
        let err = w.add_bytes("a", b"dup", EntryMeta::default());
        assert!(matches!(err, Err(Error::DuplicateEntry(_))));
        drop(w);
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
        assert!(leftovers(dir.path()).is_empty());
        // A successful write replaces it.
        let mut w = ArchiveWriter::create(&target, opts()).unwrap();
        w.add_bytes("a", b"new", EntryMeta::default()).unwrap();
        w.finish().unwrap();
        let a = Archive::open(&target).unwrap();
        assert_eq!(a.read_vec(0, 3).unwrap(), b"new");
    }

    #[test]
    #[cfg(unix)]
    fn archive_gets_the_mode_of_a_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference");
        std::fs::write(&reference, b"x").unwrap();
        let target = dir.path().join("out.hxz");
        let w = ArchiveWriter::create(&target, opts()).unwrap();
        w.finish().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), mode(&reference));
    }

    #[test]
    fn target_is_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let r = ArchiveWriter::create(dir.path(), opts());
        assert!(matches!(r, Err(Error::Io { .. })), "{:?}", r.err());
    }
}
