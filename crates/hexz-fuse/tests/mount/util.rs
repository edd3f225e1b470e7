//! Mounting helpers shared by the mount tests: whether mounts can run here, mount state,
//! the source tree, packing and mounting it.

use hexz_core::{Archive, ArchiveWriter, WriteOptions};
use hexz_fuse::{mount_background, MountHandle, MountOptions};
use hexz_testkit::data::noise;
use hexz_testkit::tree::{put, set_dir, walk};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub use hexz_testkit::mounts::{can_mount, is_mounted};

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

/// The testkit's standard tree (files of many sizes and modes, symlinks relative and dangling,
/// nested and empty directories, fixed nanosecond mtimes) plus what a mount must also get
/// right: a read-only file, an unusual directory mode, a name with a space and non-ASCII, and a
/// directory of 40 files.
pub fn make_tree(root: &Path) {
    hexz_testkit::tree::make_tree(root);
    fs::set_permissions(root.join("one"), fs::Permissions::from_mode(0o444)).expect("chmod");
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
    for (dir, mode, secs) in [
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
