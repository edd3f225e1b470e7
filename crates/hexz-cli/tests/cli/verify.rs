//! `verify` on intact and damaged archives; damaged and garbage input never panics.

use crate::util::{arg, assert_no_panic, fails, make_tree, noise, ok, run};
use std::path::Path;
use tempfile::TempDir;

fn tree_archive(t: &TempDir) -> String {
    let src = t.path().join("src");
    make_tree(&src);
    let archive = arg(t.path(), "tree.hxz");
    ok(["pack", "-q", src.to_str().expect("utf-8"), &archive]);
    archive
}

fn copy_with(t: &TempDir, archive: &str, name: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = std::fs::read(archive).expect("read");
    f(&mut bytes);
    let path = arg(t.path(), name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn intact_archive_is_ok() {
    let t = TempDir::new().expect("tempdir");
    let archive = tree_archive(&t);
    let out = String::from_utf8(ok(["verify", &archive])).expect("utf-8");
    assert!(out.starts_with("OK: "), "{out}");
    assert!(
        out.contains(" blocks, ") && out.contains(" bytes verified"),
        "{out}"
    );
    assert!(ok(["verify", "-q", &archive]).is_empty());
}

#[test]
fn flipped_data_byte_fails() {
    let t = TempDir::new().expect("tempdir");
    let archive = tree_archive(&t);
    // The first data block starts right after the 128-byte header.
    let bad = copy_with(&t, &archive, "bad.hxz", |b| b[128 + 10] ^= 0x40);
    let out = run(["verify", &bad]);
    assert_eq!(out.status.code(), Some(1));
    assert_no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("block"), "{err}");
    assert!(
        err.lines()
            .last()
            .is_some_and(|l| l.starts_with("hexz: error: ")),
        "{err}"
    );
    // Reading the damaged block fails cleanly too.
    fails(["cat", &bad]);
}

#[test]
fn truncated_archive_fails() {
    let t = TempDir::new().expect("tempdir");
    let archive = tree_archive(&t);
    let len = std::fs::metadata(&archive).expect("stat").len() as usize;
    for cut in [len - 1, len - 64, len / 2, 200, 128, 10, 0] {
        let bad = copy_with(&t, &archive, "cut.hxz", |b| b.truncate(cut));
        for cmd in ["verify", "inspect", "ls", "cat"] {
            let err = fails([cmd, &bad]);
            assert!(err.contains("cut.hxz"), "{cmd} at {cut}: {err}");
        }
        fails(["extract", &bad, &arg(t.path(), "out")]);
    }
}

#[test]
fn flipped_bytes_anywhere_never_panic() {
    let t = TempDir::new().expect("tempdir");
    let archive = tree_archive(&t);
    let len = std::fs::metadata(&archive).expect("stat").len() as usize;
    let mut positions: Vec<usize> = (0..128).step_by(7).collect();
    positions.extend((len - 400..len).step_by(5));
    positions.extend((0..20).map(|i| 128 + i * (len - 600) / 20));
    for pos in positions {
        let bad = copy_with(&t, &archive, "flip.hxz", |b| b[pos] ^= 0x01);
        let out_dir = t.path().join(format!("x{pos}"));
        for args in [
            vec!["verify", &bad],
            vec!["inspect", "--json", &bad],
            vec!["ls", "-l", &bad],
            vec!["cat", &bad],
            vec!["extract", "-q", &bad, out_dir.to_str().expect("utf-8")],
        ] {
            let out = run(&args);
            assert_no_panic(&out);
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("hexz: error: "), "{args:?} at {pos}: {err}");
            }
        }
        // Every flipped byte is covered by a checksum or a hash.
        let out = run(["verify", &bad]);
        assert_eq!(out.status.code(), Some(1), "verify missed a flip at {pos}");
    }
}

#[test]
fn garbage_inputs_fail_cleanly() {
    let t = TempDir::new().expect("tempdir");
    let dir = t.path();
    std::fs::write(dir.join("random.hxz"), noise(1000, 1)).expect("write");
    std::fs::write(dir.join("random-big.hxz"), noise(300_000, 2)).expect("write");
    std::fs::write(dir.join("empty.hxz"), b"").expect("write");
    std::fs::create_dir(dir.join("dir.hxz")).expect("mkdir");
    for name in [
        "random.hxz",
        "random-big.hxz",
        "empty.hxz",
        "dir.hxz",
        "missing.hxz",
    ] {
        let a = arg(dir, name);
        for cmd in ["verify", "inspect", "ls", "cat"] {
            let err = fails([cmd, &a]);
            assert!(err.contains(name), "{cmd} {name}: {err}");
        }
        fails(["cat", &a, "x"]);
        fails(["extract", &a, &arg(dir, "out")]);
    }
    assert!(!Path::new(&arg(dir, "out")).join("x").exists());
}
