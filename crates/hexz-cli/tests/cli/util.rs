//! Running `hexz`, building source trees and comparing them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A `hexz` command with `args`, stdin closed.
pub fn cmd<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Command::new(env!("CARGO_BIN_EXE_hexz"));
    c.args(args).stdin(Stdio::null());
    c
}

/// Runs `hexz` with `args`.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    cmd(args).output().expect("spawn hexz")
}

/// Runs `hexz` and expects success; returns stdout.
pub fn ok<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run(&args);
    assert!(
        out.status.success(),
        "hexz {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `hexz`, expects a failure reported as one `hexz: error:` line and no panic; returns
/// stderr.
pub fn fails<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = run(&args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "hexz {args:?} succeeded");
    assert_no_panic(&out);
    let errors = err
        .lines()
        .filter(|l| l.starts_with("hexz: error: "))
        .count();
    assert_eq!(
        errors, 1,
        "hexz {args:?}: expected one error line in {err:?}"
    );
    err
}

/// Fails the test when `hexz` panicked or was killed by a signal.
pub fn assert_no_panic(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "hexz panicked: {err}");
    assert!(out.status.code().is_some(), "hexz died: {:?}", out.status);
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Compressible text of `len` bytes.
pub fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!("line {i}: the quick brown fox jumps over hexz\n").as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// 64 KiB runs of random, text and zero bytes.
pub fn mixed(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len {
        let n = (len - out.len()).min(64 * 1024);
        match i % 3 {
            0 => out.extend(noise(n, seed + i)),
            1 => out.extend(text(n)),
            _ => out.resize(out.len() + n, 0),
        }
        i += 1;
    }
    out
}

/// Writes `data` to `path` with `mode` and an mtime of `secs`.`nanos`.
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
        let p = root.join(dir);
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
        let t = filetime::FileTime::from_unix_time(secs, 314_159);
        filetime::set_file_mtime(&p, t).expect("set mtime");
    }
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

/// A path under `dir` as an argument.
pub fn arg(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}
