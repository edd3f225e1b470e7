//! Real mounts of packed trees and images, read back through the kernel: contents, modes,
//! mtimes and symlinks against the source, a raw image with `qemu-img compare`, `EIO` for a
//! corrupt block, concurrent reader processes, mountpoint errors and unmounting. Every test
//! checks that its mount is gone from /proc/self/mountinfo afterwards.
//!
//! They need root and /dev/fuse: as root a missing /dev/fuse fails the test; as another user
//! they are skipped with a message.
#![cfg(target_os = "linux")]

use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadOptions, WriteOptions};
use hexz_fuse::{mount_background, Error, MountHandle, MountOptions};
use hexz_testkit::data::{mixed, noise};
use hexz_testkit::tree::{put, set_dir, walk};
use hexz_testkit::Rng;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Whether real mounts can run here. Not root: skipped with a message. Root without
/// /dev/fuse: a failure that says what is missing.
fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting needs root (CI runs these tests as root)");
        return false;
    }
    if let Err(e) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        panic!("running as root but /dev/fuse cannot be opened ({e}): load the fuse module");
    }
    true
}

fn is_mounted(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    hexz_fuse::mountinfo::mounts()
        .expect("mountinfo")
        .iter()
        .any(|m| m.mount_point == path)
}

/// Waits (with a deadline) until `path` is no longer a mount point.
fn assert_gone(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_mounted(path) {
        assert!(
            Instant::now() < deadline,
            "{} is still mounted",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A tree with files of many sizes and modes, symlinks (relative, dangling), nested and empty
/// directories, names with spaces and non-ASCII, and fixed nanosecond mtimes.
fn make_tree(root: &Path) {
    let big = mixed(3 << 20, 7);
    put(&root.join("empty"), b"", 0o644, 1_600_000_000, 1);
    put(&root.join("one"), b"x", 0o444, 1_600_000_001, 999_999_999);
    put(
        &root.join("a/medium.txt"),
        &mixed(100_000, 1),
        0o600,
        1_500_000_000,
        123_456_789,
    );
    put(&root.join("a/b/c/big.bin"), &big, 0o644, 1_400_000_000, 5);
    put(
        &root.join("a/b/big-copy.bin"),
        &big,
        0o644,
        1_400_000_001,
        6,
    );
    put(
        &root.join("a/b/run.sh"),
        b"#!/bin/sh\necho hi\n",
        0o755,
        1_300_000_000,
        0,
    );
    put(
        &root.join("z/random.bin"),
        &noise(200_000, 3),
        0o640,
        1_200_000_000,
        42,
    );
    put(
        &root.join("with space/ünïcode ✓.txt"),
        b"hello\n",
        0o644,
        1_250_000_000,
        7,
    );
    for i in 0..40 {
        put(
            &root.join(format!("many/f{i:03}")),
            &noise(i * 997, i as u64),
            0o644,
            1_100_000_000 + i as i64,
            0,
        );
    }
    std::os::unix::fs::symlink("../medium.txt", root.join("a/b/link")).expect("symlink");
    std::os::unix::fs::symlink("does/not/exist", root.join("dangling")).expect("symlink");
    let t = filetime::FileTime::from_unix_time(1_100_000_000, 77);
    filetime::set_symlink_file_times(root.join("a/b/link"), t, t).expect("symlink time");
    filetime::set_symlink_file_times(root.join("dangling"), t, t).expect("symlink time");
    fs::create_dir_all(root.join("empty-dir")).expect("mkdir");
    for (dir, mode, secs) in [
        ("a/b/c", 0o755, 1_000_000_003),
        ("a/b", 0o750, 1_000_000_002),
        ("a", 0o755, 1_000_000_001),
        ("z", 0o700, 1_000_000_004),
        ("empty-dir", 0o711, 1_000_000_005),
        ("many", 0o755, 1_000_000_006),
        ("with space", 0o755, 1_000_000_007),
    ] {
        set_dir(&root.join(dir), mode, secs);
    }
}

/// Asserts that `mounted` holds the same paths, kinds, sizes, bytes, modes, mtimes (ns) and
/// symlink targets as `src`.
fn assert_same_tree(src: &Path, mounted: &Path) {
    let (a, b) = (walk(src), walk(mounted));
    assert_eq!(a, b, "different paths");
    for rel in a {
        let (x, y) = (src.join(&rel), mounted.join(&rel));
        let (mx, my) = (
            fs::symlink_metadata(&x).expect("lstat"),
            fs::symlink_metadata(&y).expect("lstat"),
        );
        assert_eq!(mx.file_type(), my.file_type(), "{rel:?}: kind");
        assert_eq!(
            (mx.mtime(), mx.mtime_nsec()),
            (my.mtime(), my.mtime_nsec()),
            "{rel:?}: mtime"
        );
        if mx.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(&x).ok(),
                fs::read_link(&y).ok(),
                "{rel:?}: target"
            );
            assert_eq!(mx.len(), my.len(), "{rel:?}: symlink size");
            continue;
        }
        assert_eq!(mx.mode() & 0o7777, my.mode() & 0o7777, "{rel:?}: mode");
        if mx.is_file() {
            assert_eq!(mx.len(), my.len(), "{rel:?}: size");
            assert_eq!(my.nlink(), 1, "{rel:?}: nlink");
            assert!(
                fs::read(&x).expect("read") == fs::read(&y).expect("read"),
                "{rel:?}: contents differ"
            );
        }
    }
}

/// A packed copy of `src` in `dir`.
fn pack_tree(src: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("tree.hxz");
    let mut w = ArchiveWriter::create(&out, WriteOptions::default()).expect("create");
    w.add_dir(src, "").expect("add_dir");
    w.finish().expect("finish");
    out
}

fn mount(archive: &Path, mnt: &Path) -> MountHandle {
    let a = Archive::open(archive).expect("open");
    mount_background(a, mnt, &MountOptions::default()).expect("mount")
}

struct Fixture {
    dir: TempDir,
    src: PathBuf,
    archive: PathBuf,
    mnt: PathBuf,
}

fn fixture() -> Fixture {
    let dir = TempDir::new().expect("tempdir");
    let src = dir.path().join("src");
    make_tree(&src);
    let archive = pack_tree(&src, dir.path());
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    Fixture {
        dir,
        src,
        archive,
        mnt,
    }
}

#[test]
fn tree_matches_the_source() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    assert!(is_mounted(&f.mnt));
    assert_eq!(h.mountpoint(), f.mnt.canonicalize().expect("canonical"));
    assert_same_tree(&f.src, &f.mnt);

    // Directory link counts: 2 + subdirectories.
    assert_eq!(fs::metadata(f.mnt.join("a")).expect("stat").nlink(), 3);
    assert_eq!(fs::metadata(f.mnt.join("a/b")).expect("stat").nlink(), 3);
    // Missing names, twice (the second from the kernel's negative cache).
    for _ in 0..2 {
        let e = fs::metadata(f.mnt.join("a/nope")).expect_err("missing");
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
    let e = fs::metadata(f.mnt.join("one/x")).expect_err("below a file");
    assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR));
    // Read-only everywhere.
    let e = fs::write(f.mnt.join("new"), b"x").expect_err("create");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    let e = fs::OpenOptions::new()
        .write(true)
        .open(f.mnt.join("one"))
        .expect_err("open for writing");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    let e = fs::remove_file(f.mnt.join("one")).expect_err("unlink");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    let e = fs::create_dir(f.mnt.join("d")).expect_err("mkdir");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    // Owner: the mounting user.
    let md = fs::metadata(f.mnt.join("one")).expect("stat");
    // SAFETY: geteuid has no preconditions.
    assert_eq!(md.uid(), unsafe { libc::geteuid() });
    assert_eq!(md.blocks(), 1);
    // Reads at odd offsets and lengths, across block boundaries.
    let big = fs::read(f.src.join("a/b/c/big.bin")).expect("read");
    let file = fs::File::open(f.mnt.join("a/b/c/big.bin")).expect("open");
    for (off, len) in [
        (0, 1),
        (65_535, 2),
        (1_000_003, 300_001),
        (3 << 20, 10),
        ((3 << 20) - 5, 100),
    ] {
        let mut buf = vec![0u8; len];
        let n = file.read_at(&mut buf, off as u64).expect("pread");
        let end = (off + len).min(big.len());
        assert_eq!(&buf[..n], &big[off.min(end)..end], "pread {off}+{len}");
    }
    drop(file);
    h.unmount().expect("unmount");
    assert_gone(&f.mnt);
    drop(f.dir);
}

#[test]
fn implied_directories_and_options() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let archive = dir.path().join("implied.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    let meta = |mode, secs: i64| EntryMeta {
        mode,
        mtime_ns: secs * 1_000_000_000 + 5,
    };
    w.add_bytes("x/y/z.txt", b"deep", meta(0o640, 1_700_000_000))
        .expect("add");
    w.add_bytes("top", b"top", meta(0o600, 1_600_000_000))
        .expect("add");
    w.finish().expect("finish");
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let opts = MountOptions {
        uid: Some(1234),
        gid: Some(4321),
        ..MountOptions::default()
    };
    let h = mount_background(Archive::open(&archive).expect("open"), &mnt, &opts).expect("mount");
    for d in ["", "x", "x/y"] {
        let md = fs::metadata(mnt.join(d)).expect("stat");
        assert!(md.is_dir(), "{d:?}");
        assert_eq!(md.mode() & 0o7777, 0o755, "{d:?}");
        // The newest mtime in the archive.
        assert_eq!((md.mtime(), md.mtime_nsec()), (1_700_000_000, 5), "{d:?}");
        assert_eq!((md.uid(), md.gid()), (1234, 4321));
    }
    assert_eq!(fs::read(mnt.join("x/y/z.txt")).expect("read"), b"deep");
    let md = fs::metadata(mnt.join("top")).expect("stat");
    assert_eq!(
        (md.uid(), md.gid(), md.mode() & 0o7777),
        (1234, 4321, 0o600)
    );
    assert_eq!(fs::metadata(&mnt).expect("stat").nlink(), 3);
    drop(h);
    assert_gone(&mnt);
}

/// A raw disk image of `len` bytes: random, text and zero runs, with a long hole.
fn disk_image(len: usize) -> Vec<u8> {
    let mut d = mixed(len, 11);
    let hole = len / 3;
    d[hole..hole + len / 4].fill(0);
    d
}

#[test]
fn raw_image_is_disk_and_memory() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let img = disk_image((24 << 20) + 4096 + 17);
    let mem = noise(3 << 20, 5);
    let img_path = dir.path().join("disk.img");
    fs::write(&img_path, &img).expect("write");
    let archive = dir.path().join("vm.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 1_650_000_000_000_000_000,
    };
    w.add_stream("disk", &img[..], meta).expect("disk");
    w.add_stream("memory", &mem[..], meta).expect("memory");
    w.finish().expect("finish");
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let h = mount(&archive, &mnt);
    let names: Vec<_> = walk(&mnt);
    assert_eq!(names, [PathBuf::from("disk"), PathBuf::from("memory")]);
    assert_eq!(
        fs::metadata(mnt.join("disk")).expect("stat").len(),
        img.len() as u64
    );
    assert!(
        fs::read(mnt.join("disk")).expect("read") == img,
        "disk differs"
    );
    assert!(
        fs::read(mnt.join("memory")).expect("read") == mem,
        "memory differs"
    );
    let out = Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", "raw"])
        .arg(mnt.join("disk"))
        .arg(&img_path)
        .output()
        .expect("qemu-img (install qemu-utils)");
    assert!(
        out.status.success(),
        "qemu-img compare: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(h);
    assert_gone(&mnt);
}

#[test]
fn a_corrupt_block_is_eio_and_the_rest_reads() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let archive = dir.path().join("c.hxz");
    let bad = noise(8 * 65_536, 1);
    let good = noise(3 * 65_536 + 100, 2);
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    };
    w.add_bytes("bad.bin", &bad, meta).expect("add");
    w.add_bytes("good.bin", &good, meta).expect("add");
    w.finish().expect("finish");
    // Flip one byte in the stored bytes of bad.bin's 6th block.
    let a = Archive::open(&archive).expect("open");
    let e = a.entry("bad.bin").expect("entries").expect("bad.bin");
    let target = e.data_offset + 5 * 65_536;
    let block = a
        .blocks()
        .map(|b| b.expect("index"))
        .find(|b| b.logical_offset == target)
        .expect("block");
    drop(a);
    let mut bytes = fs::read(&archive).expect("read");
    bytes[block.stored_offset as usize + 100] ^= 0x40;
    fs::write(&archive, &bytes).expect("write");

    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let h = mount(&archive, &mnt);
    let e = fs::read(mnt.join("bad.bin")).expect_err("whole file");
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    let f = fs::File::open(mnt.join("bad.bin")).expect("open");
    let mut buf = vec![0u8; 65_536];
    let e = f
        .read_at(&mut buf, 5 * 65_536 + 10)
        .expect_err("the corrupt block");
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    for blk in [0u64, 1, 4, 7] {
        let n = f.read_at(&mut buf, blk * 65_536).expect("an intact block");
        assert_eq!(
            &buf[..n],
            &bad[(blk * 65_536) as usize..][..n],
            "block {blk}"
        );
    }
    assert!(fs::read(mnt.join("good.bin")).expect("good") == good);
    assert!(h.read_errors() >= 2);
    drop(f);
    drop(h);
    assert_gone(&mnt);
}

#[test]
fn eight_reader_processes_get_the_right_bytes() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    let files: Vec<PathBuf> = walk(&f.src)
        .into_iter()
        .filter(|p| {
            fs::symlink_metadata(f.src.join(p))
                .expect("lstat")
                .is_file()
        })
        .collect();
    let sums = |root: &Path, files: &[PathBuf]| -> String {
        let out = Command::new("sha256sum")
            .current_dir(root)
            .args(files)
            .output()
            .expect("sha256sum");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let expected = sums(&f.src, &files);
    // Eight processes at once, each over every file in its own order.
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut order = files.clone();
            order.rotate_left(i * files.len() / 8);
            if i % 2 == 1 {
                order.reverse();
            }
            let child = Command::new("sha256sum")
                .current_dir(&f.mnt)
                .args(&order)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sha256sum");
            (order, child)
        })
        .collect();
    for (order, mut child) in children {
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read");
        let status = child.wait().expect("wait");
        assert!(status.success());
        let mut got: Vec<&str> = out.lines().collect();
        let mut want: Vec<&str> = expected.lines().collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "reader over {} files", order.len());
    }
    drop(h);
    assert_gone(&f.mnt);
}

#[test]
fn mountpoint_errors() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let open = || Arc::new(Archive::open(&f.archive).expect("open"));
    let opts = MountOptions::default();
    let missing = f.dir.path().join("missing");
    match mount_background(open(), &missing, &opts) {
        Err(e @ Error::MountpointMissing(_)) => assert!(e.to_string().contains("does not exist")),
        other => panic!("{other:?}"),
    }
    match mount_background(open(), &f.archive, &opts) {
        Err(e @ Error::NotADirectory(_)) => assert!(e.to_string().contains("not a directory")),
        other => panic!("{other:?}"),
    }
    match mount_background(open(), &f.src, &opts) {
        Err(e @ Error::NotEmpty(_)) => assert!(e.to_string().contains("not empty")),
        other => panic!("{other:?}"),
    }
    // A corrupt entries table is an archive error, before anything is mounted.
    let a = Archive::open(&f.archive).expect("open");
    let table = a.summary().entries.offset;
    drop(a);
    let mut bytes = fs::read(&f.archive).expect("read");
    bytes[table as usize + 3] ^= 0x08;
    let corrupt = f.dir.path().join("corrupt.hxz");
    fs::write(&corrupt, &bytes).expect("write");
    let a = Archive::open_with_options(&corrupt, ReadOptions::default()).expect("open");
    match mount_background(a, &f.mnt, &opts) {
        Err(Error::Archive(e)) => assert!(e.is_corruption(), "{e}"),
        other => panic!("{other:?}"),
    }
    for p in [&missing, &f.archive, &f.src, &f.mnt] {
        assert!(!is_mounted(p));
    }
    // Nothing mounted there: unmount says so.
    match hexz_fuse::unmount(&f.mnt) {
        Err(e @ Error::NotMounted(_)) => assert!(e.to_string().contains("not a mount point")),
        other => panic!("{other:?}"),
    }
    match hexz_fuse::unmount(&missing) {
        Err(e @ Error::Unmount { .. }) => assert!(e.to_string().contains("no such"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A mount point that is not hexz's.
    match hexz_fuse::unmount("/proc") {
        Err(e @ Error::NotHexz { .. }) => assert!(e.to_string().contains("proc"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unmounted_from_outside_ends_the_session() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    assert!(h.is_mounted());
    assert!(!h.wait_timeout(Duration::from_millis(50)));
    assert!(hexz_fuse::find_mount(&f.mnt).expect("mountinfo").is_some());
    hexz_fuse::unmount(&f.mnt).expect("unmount");
    assert!(
        h.wait_timeout(Duration::from_secs(5)),
        "the session did not end"
    );
    assert!(!h.is_mounted());
    assert_gone(&f.mnt);
    // Unmounting the handle afterwards is a no-op, and the directory is usable again.
    h.unmount().expect("unmount after outside unmount");
    let h = mount(&f.archive, &f.mnt);
    assert_same_tree(&f.src, &f.mnt);
    drop(h);
    assert_gone(&f.mnt);
}

#[test]
fn a_busy_mount_is_detached_lazily() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    let file = fs::File::open(f.mnt.join("a/b/c/big.bin")).expect("open");
    match hexz_fuse::unmount(&f.mnt) {
        Err(e @ Error::Busy(_)) => assert!(e.to_string().contains("busy"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(is_mounted(&f.mnt));
    let start = Instant::now();
    h.unmount().expect("unmount");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_gone(&f.mnt);
    // The open file still reads until it is closed.
    let mut buf = vec![0u8; 4096];
    file.read_exact_at(&mut buf, 1 << 20)
        .expect("read after detach");
    let src = fs::read(f.src.join("a/b/c/big.bin")).expect("read");
    assert_eq!(buf, src[1 << 20..(1 << 20) + 4096]);
    drop(file);
}

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

/// The soak files: (name, length); version `v`'s bytes are `soak_bytes(i, v)`.
const SOAK_FILES: [(&str, usize); 4] = [
    ("f0", 1_000_003),
    ("f1", 1_500_000),
    ("d/f2", 777_777),
    ("d/f3", 2_000_001),
];

fn soak_bytes(i: usize, version: u64) -> Vec<u8> {
    noise(SOAK_FILES[i].1, 1000 * version + i as u64)
}

/// The soak archive of `version`, as bytes (each version has the same layout).
fn soak_archive(dir: &Path, version: u64) -> Vec<u8> {
    let path = dir.join(format!("v{version}.hxz"));
    let opts = WriteOptions {
        block_size: 16 * 1024,
        compression: hexz_core::Compression::None,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(&path, opts).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    };
    for (i, (name, _)) in SOAK_FILES.iter().enumerate() {
        w.add_bytes(name, &soak_bytes(i, version), meta)
            .expect("add");
    }
    w.finish().expect("finish");
    let bytes = fs::read(&path).expect("read");
    fs::remove_file(&path).expect("rm");
    bytes
}

/// What the soak's readers saw.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    /// Reads that returned exactly the old bytes.
    reads: u64,
    /// Reads answered EIO.
    eio: u64,
    /// Reads that returned other bytes.
    mixed: u64,
    /// Reads that failed with another error.
    other: u64,
    /// Reads that returned fewer bytes than asked for, all of them old.
    short: u64,
}

/// Mounts `archive` (holding version 1), reads random ranges from 16 threads while `replace`
/// changes the file, and returns what they saw. The archive is opened with a small cache, so
/// that reads keep reaching the file, and memory-mapped, so that a read through the map of a
/// truncated file would be a SIGBUS.
fn soak(archive: &Path, mnt: &Path, replace: impl FnOnce()) -> Seen {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let opts = ReadOptions {
        cache_bytes: 256 << 10,
        mmap: true,
        ..ReadOptions::default()
    };
    let a = Archive::open_with_options(archive, opts).expect("open");
    let h = mount_background(a, mnt, &MountOptions::default()).expect("mount");
    let v1: Arc<Vec<Vec<u8>>> = Arc::new((0..SOAK_FILES.len()).map(|i| soak_bytes(i, 1)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<[AtomicU64; 5]> = Arc::new(Default::default());
    let readers: Vec<_> = (0..16u64)
        .map(|t| {
            let (v1, stop, counts, mnt) =
                (v1.clone(), stop.clone(), counts.clone(), mnt.to_path_buf());
            std::thread::spawn(move || {
                let open: Vec<fs::File> = SOAK_FILES
                    .iter()
                    .map(|(name, _)| fs::File::open(mnt.join(name)).expect("open"))
                    .collect();
                let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                let mut next = move || rng.next_u64();
                let mut buf = vec![0u8; 256 << 10];
                while !stop.load(Relaxed) {
                    let i = (next() % SOAK_FILES.len() as u64) as usize;
                    let want = &v1[i];
                    let off = (next() % want.len() as u64) as usize;
                    let len = 1 + (next() % buf.len() as u64) as usize;
                    let f = &open[i];
                    // Drop the kernel's cached pages, so that the read reaches the mount.
                    // SAFETY: posix_fadvise only reads its integer arguments.
                    unsafe {
                        libc::posix_fadvise(
                            std::os::fd::AsRawFd::as_raw_fd(f),
                            0,
                            0,
                            libc::POSIX_FADV_DONTNEED,
                        )
                    };
                    let end = (off + len).min(want.len());
                    let k = match f.read_at(&mut buf[..len], off as u64) {
                        Ok(n) if n == end - off && buf[..n] == want[off..end] => 0,
                        // A read whose later pages fail returns the bytes before them (the
                        // kernel's partial read): those must be the old ones too.
                        Ok(n) if n < end - off && buf[..n] == want[off..off + n] => 4,
                        Ok(_) => 2,
                        Err(e) if e.raw_os_error() == Some(libc::EIO) => 1,
                        Err(e) => {
                            eprintln!("soak: reader {t}: {e}");
                            3
                        }
                    };
                    counts[k].fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    // A hang fails the test rather than blocking the run.
    let deadline = Instant::now() + Duration::from_secs(120);
    replace();
    stop.store(true, Relaxed);
    for r in readers {
        while !r.is_finished() {
            if Instant::now() > deadline {
                eprintln!("soak: a reader hung for 120 s");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        r.join().expect("a reader panicked");
    }
    drop(h);
    assert_gone(mnt);
    let c = |k: usize| counts[k].load(Relaxed);
    Seen {
        reads: c(0),
        eio: c(1),
        mixed: c(2),
        other: c(3),
        short: c(4),
    }
}

/// Soak: 16 threads read random ranges through the mount while the archive file is
/// replaced under it. Replaced by rename (new, old, new content): the mount keeps reading the
/// file it opened, so every read is the old bytes. Rewritten in place (truncated, the other
/// version of the same layout written in pieces, truncated to half, written whole again):
/// reads are the old bytes until the change and EIO after it. Never new or garbage bytes, no
/// SIGBUS although the archive is memory-mapped, no hang.
#[test]
fn replacing_the_archive_under_16_readers_is_old_bytes_or_eio() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let a1 = soak_archive(dir.path(), 1);
    let a2 = soak_archive(dir.path(), 2);
    let archive = dir.path().join("soak.hxz");
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let pause = || std::thread::sleep(Duration::from_millis(1200));

    fs::write(&archive, &a1).expect("write");
    let renamed = soak(&archive, &mnt, || {
        pause();
        for bytes in [&a2, &a1, &a2] {
            let tmp = dir.path().join("soak.hxz.tmp");
            fs::write(&tmp, bytes).expect("write");
            fs::rename(&tmp, &archive).expect("rename");
            pause();
        }
    });
    eprintln!("soak, replaced by rename: {renamed:?}");
    assert!(renamed.reads > 100, "{renamed:?}");
    assert_eq!(
        (renamed.eio, renamed.mixed, renamed.other, renamed.short),
        (0, 0, 0, 0),
        "{renamed:?}"
    );

    fs::write(&archive, &a1).expect("write");
    let in_place = soak(&archive, &mnt, || {
        pause();
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&archive)
            .expect("open for writing");
        for piece in a2.chunks(a2.len() / 8 + 1) {
            std::io::Write::write_all(&mut f, piece).expect("write");
            std::thread::sleep(Duration::from_millis(150));
        }
        pause();
        f.set_len(a2.len() as u64 / 2).expect("truncate");
        pause();
        fs::write(&archive, &a2).expect("write");
        pause();
    });
    eprintln!("soak, rewritten in place: {in_place:?}");
    assert!(in_place.reads > 100, "{in_place:?}");
    assert!(in_place.eio > 0, "{in_place:?}");
    assert_eq!((in_place.mixed, in_place.other), (0, 0), "{in_place:?}");
}
