//! Source trees on disk: files with fixed modes and nanosecond mtimes, the standard test tree,
//! and comparisons of two trees.

use crate::data::{mixed, noise, text};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Writes `data` to `path` (creating its parents) with `mode` and an mtime of `secs`.`nanos`.
pub fn put(path: &Path, data: &[u8], mode: u32, secs: i64, nanos: u32) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).expect("mkdir");
    }
    fs::write(path, data).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    let t = filetime::FileTime::from_unix_time(secs, nanos);
    filetime::set_file_mtime(path, t).expect("set mtime");
}

/// Builds the test tree under `root`: files of 0 B, 1 B, 100 KB and 3 MB (mixed), a duplicate
/// of the 3 MB file, modes 0o600 and 0o755, a relative and a dangling symlink, nested
/// directories, all with fixed nanosecond mtimes.
pub fn make_tree(root: &Path) {
    let big = mixed(3 << 20, 7);
    put(&root.join("empty"), b"", 0o644, 1_600_000_000, 1);
    put(&root.join("one"), b"x", 0o644, 1_600_000_001, 999_999_999);
    put(
        &root.join("a/medium.txt"),
        &text(100_000),
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
    std::os::unix::fs::symlink("../medium.txt", root.join("a/b/link")).expect("symlink");
    std::os::unix::fs::symlink("does/not/exist", root.join("dangling")).expect("symlink");
    let t = filetime::FileTime::from_unix_time(1_100_000_000, 77);
    filetime::set_symlink_file_times(root.join("a/b/link"), t, t).expect("symlink time");
    filetime::set_symlink_file_times(root.join("dangling"), t, t).expect("symlink time");
    fs::create_dir_all(root.join("empty-dir")).expect("mkdir");
    // Directory modes and times last, deepest first, after their contents exist.
    for (dir, mode, secs) in [
        ("a/b/c", 0o755, 1_000_000_003),
        ("a/b", 0o750, 1_000_000_002),
        ("a", 0o755, 1_000_000_001),
        ("z", 0o700, 1_000_000_004),
        ("empty-dir", 0o755, 1_000_000_005),
    ] {
        set_dir(&root.join(dir), mode, secs);
    }
}

/// Sets a directory's mode and its mtime to `secs`.314159 (after its contents exist).
pub fn set_dir(path: &Path, mode: u32, secs: i64) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    let t = filetime::FileTime::from_unix_time(secs, 314_159);
    filetime::set_file_mtime(path, t).expect("set mtime");
}

/// Every path under `root`, relative, sorted.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).expect("read_dir") {
            let e = e.expect("dir entry");
            let r = rel.join(e.file_name());
            if e.file_type().expect("file type").is_dir() {
                stack.push(r.clone());
            }
            out.push(r);
        }
    }
    out.sort();
    out
}

/// Asserts that trees `a` and `b` hold the same paths, kinds, bytes, modes, mtimes (ns) and
/// symlink targets.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (pa, pb) = (walk(a), walk(b));
    assert_eq!(pa, pb, "different paths");
    for rel in pa {
        let (x, y) = (a.join(&rel), b.join(&rel));
        let (mx, my) = (
            fs::symlink_metadata(&x).expect("lstat"),
            fs::symlink_metadata(&y).expect("lstat"),
        );
        assert_eq!(mx.file_type(), my.file_type(), "{rel:?}: kind");
        let mtime = |m: &fs::Metadata| filetime::FileTime::from_last_modification_time(m);
        assert_eq!(mtime(&mx), mtime(&my), "{rel:?}: mtime");
        if mx.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(&x).ok(),
                fs::read_link(&y).ok(),
                "{rel:?}: target"
            );
            continue;
        }
        assert_eq!(
            mx.permissions().mode() & 0o7777,
            my.permissions().mode() & 0o7777,
            "{rel:?}: mode"
        );
        if mx.is_file() {
            assert!(
                fs::read(&x).expect("read") == fs::read(&y).expect("read"),
                "{rel:?}: contents differ"
            );
        }
    }
}

/// A POSIX access ACL granting user `uid` read access, in the kernel's binary form (the value
/// of the extended attribute `system.posix_acl_access`): version 2, then (tag, perm, id) for
/// the owner (rw), user `uid` (r), the group (r), the mask (r) and others (none).
pub fn posix_acl_granting(uid: u32) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 4, uid),
        (4, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}
