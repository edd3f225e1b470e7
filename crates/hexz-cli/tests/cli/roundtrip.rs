//! `pack` then `extract` reproduces a tree: bytes, modes, mtimes and symlinks.

use crate::util::{arg, assert_same_tree, fails, make_tree, ok};
use tempfile::TempDir;

fn round_trip(codec: &[&str]) {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    make_tree(&src);
    let archive = arg(t.path(), "tree.hxz");
    let mut args = vec!["pack", "-q"];
    args.extend_from_slice(codec);
    args.extend([src.to_str().expect("utf-8"), &archive]);
    ok(&args);
    ok(["verify", "-q", &archive]);
    let out = t.path().join("out");
    ok(["extract", "-q", &archive, out.to_str().expect("utf-8")]);
    assert_same_tree(&src, &out);
}

#[test]
fn lz4() {
    round_trip(&[]);
}

#[test]
fn zstd() {
    round_trip(&["--compression", "zstd", "--level", "5"]);
}

#[test]
fn uncompressed_small_blocks() {
    round_trip(&["-c", "none", "--block-size", "4K"]);
}

#[test]
fn no_dedup_large_blocks() {
    round_trip(&["--no-dedup", "-b", "1M", "-j", "1"]);
}

#[test]
fn single_file_and_selection() {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    make_tree(&src);
    let archive = arg(t.path(), "tree.hxz");
    ok(["pack", "-q", src.to_str().expect("utf-8"), &archive]);

    // Selecting a directory extracts everything under it, and only that.
    let out = t.path().join("sel");
    ok([
        "extract",
        "-q",
        &archive,
        out.to_str().expect("utf-8"),
        "a/b/",
        "one",
    ]);
    let got = crate::util::walk(&out);
    assert!(got.iter().any(|p| p.ends_with("a/b/c/big.bin")));
    assert!(got.iter().any(|p| p.ends_with("one")));
    assert!(!got
        .iter()
        .any(|p| p.ends_with("medium.txt") || p.ends_with("z")));
    assert_eq!(
        std::fs::read(out.join("a/b/run.sh")).expect("read"),
        std::fs::read(src.join("a/b/run.sh")).expect("read")
    );
    fails(["extract", &archive, out.to_str().expect("utf-8"), "nope"]);

    // Extracting again over the same directory replaces files and keeps directories.
    ok(["extract", "-q", &archive, out.to_str().expect("utf-8")]);
    assert_same_tree(&src, &out);

    // A single file becomes one entry named after it.
    let one = arg(t.path(), "one.hxz");
    ok(["pack", "-q", &arg(&src, "a/medium.txt"), &one]);
    let listing = ok(["ls", &one]);
    assert_eq!(String::from_utf8_lossy(&listing), "medium.txt\n");
    let out = t.path().join("one-out");
    ok(["extract", "-q", &one, out.to_str().expect("utf-8")]);
    assert_eq!(
        std::fs::read(out.join("medium.txt")).expect("read"),
        std::fs::read(src.join("a/medium.txt")).expect("read")
    );
}

#[test]
fn archive_gets_the_umask_mode() {
    use std::os::unix::fs::PermissionsExt;
    let t = TempDir::new().expect("tempdir");
    let f = t.path().join("f");
    std::fs::write(&f, b"data").expect("write");
    let archive = arg(t.path(), "f.hxz");
    ok(["pack", "-q", f.to_str().expect("utf-8"), &archive]);
    // SAFETY: reads and restores this process's umask; tests create files with either value.
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    let mode = std::fs::metadata(&archive)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o666 & !(mask as u32));
}
