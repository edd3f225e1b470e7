//! Names longer than the kernel allows: listed shortened, read through the shortened name.

use crate::util::{assert_gone, can_mount, mount};
use hexz_core::{Archive, ArchiveWriter, EntryMeta, WriteOptions};
use hexz_fuse::MountOptions;
use hexz_testkit::data::noise;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

/// Names longer than the kernel's 255 bytes (an archive may hold components of up
/// to 4,096) are listed under their shortened name, which opens the entry; the listing never
/// fails and the other entries are untouched.
#[test]
fn long_names_are_listed_shortened_and_read() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let archive = dir.path().join("long.hxz");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 1_700_000_000_000_000_000,
    };
    let x300 = "x".repeat(300);
    // A real entry named like a long entry's shortened name: the real one is shown.
    let q300 = "q".repeat(300);
    let impostor = hexz_fuse::shown_name(&q300).into_owned();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("a.txt".into(), b"ordinary".to_vec()),
        ("n".repeat(255), noise(1000, 1)),
        ("o".repeat(256), noise(70_000, 2)),
        ("p".repeat(4095), noise(3, 3)),
        ("r".repeat(4096), noise(200_000, 4)),
        (format!("{x300}1"), b"first".to_vec()),
        (format!("{x300}2"), b"second".to_vec()),
        // Two-byte characters: the cut falls inside one unless it respects boundaries.
        ("é".repeat(150), b"accents".to_vec()),
        (
            format!("{}/inner", "d".repeat(300)),
            b"below a long dir".to_vec(),
        ),
        (q300.clone(), b"hidden".to_vec()),
        (impostor.clone(), b"real".to_vec()),
        ("zz".into(), Vec::new()),
    ];
    files.sort();
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    for (p, data) in &files {
        w.add_bytes(p, data, meta).expect("add");
    }
    let t4095 = "t".repeat(4095);
    let t4096 = "u".repeat(4096);
    w.add_symlink("sym4095", &t4095, meta).expect("symlink");
    w.add_symlink("sym4096", &t4096, meta).expect("symlink");
    w.finish().expect("finish");

    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let fs_ = hexz_fuse::HexzFs::new(
        Arc::new(Archive::open(&archive).expect("open")),
        &MountOptions::default(),
    )
    .expect("inode table");
    assert_eq!(fs_.hidden(), std::slice::from_ref(&q300));
    let h = mount(&archive, &mnt);

    // Every name the listing shows, once; all fit the kernel's limit.
    let listed: Vec<String> = fs::read_dir(&mnt)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert!(
        listed.iter().all(|n| n.len() <= hexz_fuse::NAME_MAX),
        "{listed:?}"
    );
    let mut want: Vec<String> = files
        .iter()
        .filter(|(p, _)| *p != q300)
        .map(|(p, _)| hexz_fuse::shown_name(p.split('/').next().expect("component")).into_owned())
        .chain(["sym4095".into(), "sym4096".into()])
        .collect();
    want.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, want);
    // Same-prefix long names stay apart; 255 is the longest name shown unchanged.
    let (one, two) = (
        hexz_fuse::shown_name(&format!("{x300}1")).into_owned(),
        hexz_fuse::shown_name(&format!("{x300}2")).into_owned(),
    );
    assert_ne!(one, two);
    assert!(listed.contains(&"n".repeat(255)));
    assert!(!listed.iter().any(|n| n.len() > 255));
    // Each file reads through its shown name with its own bytes.
    for (p, data) in &files {
        if *p == q300 {
            continue;
        }
        let shown: PathBuf = p
            .split('/')
            .map(|c| hexz_fuse::shown_name(c).into_owned())
            .collect();
        let got = fs::read(mnt.join(&shown)).unwrap_or_else(|e| panic!("{shown:?}: {e}"));
        assert!(got == *data, "{shown:?}: contents differ");
        assert_eq!(
            fs::metadata(mnt.join(&shown)).expect("stat").len(),
            data.len() as u64
        );
    }
    assert_eq!(fs::read(mnt.join(&impostor)).expect("read"), b"real");
    // The original long name is not a second name for the entry.
    let e = fs::metadata(mnt.join("o".repeat(256))).expect_err("the long name");
    assert!(
        matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENAMETOOLONG)),
        "{e}"
    );
    // Symlinks: a 4,095-byte target reads back; a 4,096-byte one (no room for the kernel's
    // NUL) is a clear ENAMETOOLONG, and both still list and stat.
    assert_eq!(
        fs::read_link(mnt.join("sym4095")).expect("readlink"),
        PathBuf::from(&t4095)
    );
    let e = fs::read_link(mnt.join("sym4096")).expect_err("too long a target");
    assert_eq!(e.raw_os_error(), Some(libc::ENAMETOOLONG), "{e}");
    assert_eq!(
        fs::symlink_metadata(mnt.join("sym4096"))
            .expect("lstat")
            .len(),
        4096
    );
    // The directory's other entries are unaffected, listed again (from the kernel's cache).
    assert_eq!(fs::read_dir(&mnt).expect("read_dir").count(), listed.len());
    assert_eq!(fs::read(mnt.join("a.txt")).expect("read"), b"ordinary");
    drop(h);
    assert_gone(&mnt);
}
