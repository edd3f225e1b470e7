//! Mounting helpers shared by the mount tests: whether mounts can run here, mount state,
//! the source tree, packing and mounting it.

use hexz_core::{Archive, ArchiveWriter, WriteOptions};
use hexz_fuse::{mount_background, MountHandle, MountOptions};
use hexz_testkit::data::{mixed, noise};
use hexz_testkit::tree::{put, set_dir, walk};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Whether real mounts can run here. Not root: skipped with a message. Root without
/// /dev/fuse: a failure that says what is missing.
pub fn can_mount() -> bool {
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

pub fn is_mounted(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    hexz_fuse::mountinfo::mounts()
        .expect("mountinfo")
        .iter()
        .any(|m| m.mount_point == path)
}

/// Waits (with a deadline) until `path` is no longer a mount point.
pub fn assert_gone(path: &Path) {
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
pub fn make_tree(root: &Path) {
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
pub fn assert_same_tree(src: &Path, mounted: &Path) {
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
pub fn pack_tree(src: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("tree.hxz");
    let mut w = ArchiveWriter::create(&out, WriteOptions::default()).expect("create");
    w.add_dir(src, "").expect("add_dir");
    w.finish().expect("finish");
    out
}

pub fn mount(archive: &Path, mnt: &Path) -> MountHandle {
    let a = Archive::open(archive).expect("open");
    mount_background(a, mnt, &MountOptions::default()).expect("mount")
}

pub struct Fixture {
    pub dir: TempDir,
    pub src: PathBuf,
    pub archive: PathBuf,
    pub mnt: PathBuf,
}

pub fn fixture() -> Fixture {
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
