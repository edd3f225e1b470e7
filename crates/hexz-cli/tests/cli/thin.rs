//! `pack --parent`: a thin archive holds only what its parent lacks; `cat`, `verify` and
//! `inspect` read through the chain; `--parent-path` finds a moved parent; a wrong parent is
//! refused naming both; encrypted parents and children share the key file.

use crate::util::{arg, fails, ok};
use hexz_testkit::Rng;
use serde_json::Value;
use tempfile::TempDir;

/// v1.bin and v2.bin (v1 with bytes inserted) in `dir`; their paths.
fn versions(dir: &std::path::Path) -> (String, String, Vec<u8>) {
    let v1 = Rng::new(21).bytes(5 << 20);
    let mut v2 = v1.clone();
    v2.splice(1 << 20..1 << 20, Rng::new(22).bytes(3000));
    std::fs::write(dir.join("v1.bin"), &v1).expect("write");
    std::fs::write(dir.join("v2.bin"), &v2).expect("write");
    (arg(dir, "v1.bin"), arg(dir, "v2.bin"), v2)
}

/// base.hxz (v1) and v2.hxz, thin on it (both CDC), in `dir`; their paths and v2's bytes.
fn thin_pair(dir: &std::path::Path) -> (String, String, Vec<u8>) {
    let (v1, v2, bytes) = versions(dir);
    let (base, thin) = (arg(dir, "base.hxz"), arg(dir, "v2.hxz"));
    ok(["pack", "-q", "--chunking", "cdc", &v1, &base]);
    ok([
        "pack",
        "-q",
        "--chunking",
        "cdc",
        "--parent",
        &base,
        &v2,
        &thin,
    ]);
    (base, thin, bytes)
}

#[test]
fn a_thin_archive_reads_through_its_parent() {
    let t = TempDir::new().expect("tempdir");
    let (base, thin, bytes) = thin_pair(t.path());
    let v: Value = serde_json::from_slice(&ok(["inspect", "--json", &thin])).expect("json");
    assert_eq!(v["chain"][0]["recorded"], "base.hxz", "{v}");
    assert_eq!(
        v["chain"][0]["location"].as_str(),
        Some(base.as_str()),
        "{v}"
    );
    assert!(v["parent_blocks"].as_u64().expect("count") > 40, "{v}");
    assert!(v["required_features"].to_string().contains("thin"), "{v}");

    // Moved: an error that says what to do, then --parent-path.
    let moved = arg(t.path(), "moved.hxz");
    std::fs::rename(&base, &moved).expect("rename");
    let e = fails(["cat", &thin, "v2.bin"]);
    assert!(e.contains("--parent-path"), "{e}");
    assert_eq!(ok(["--parent-path", &moved, "cat", &thin, "v2.bin"]), bytes);

    // Another archive where the parent should be: refused, naming both.
    ok(["pack", "-q", &arg(t.path(), "v2.bin"), &base]);
    let e = fails(["cat", &thin, "v2.bin"]);
    assert!(e.contains("root hash") && e.contains("base.hxz"), "{e}");
}

#[test]
fn encrypted_thin_archives_share_the_key() {
    let t = TempDir::new().expect("tempdir");
    let (v1, v2, bytes) = versions(t.path());
    let key = arg(t.path(), "k.key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).expect("key");
    let (base, thin) = (arg(t.path(), "base.hxz"), arg(t.path(), "v2.hxz"));
    let k = ["--key-file", key.as_str()];
    ok([
        "pack",
        "-q",
        "--encrypt",
        k[0],
        k[1],
        "--chunking",
        "cdc",
        &v1,
        &base,
    ]);
    ok([
        "pack",
        "-q",
        "--encrypt",
        k[0],
        k[1],
        "--chunking",
        "cdc",
        "--parent",
        &base,
        &v2,
        &thin,
    ]);
    assert!(std::fs::metadata(&thin).expect("stat").len() < 256 << 10);
    assert_eq!(ok(["cat", k[0], k[1], &thin, "v2.bin"]), bytes);
    let e = fails([
        "pack",
        "-q",
        "--parent",
        &base,
        &v2,
        &arg(t.path(), "x.hxz"),
    ]);
    assert!(e.contains("encrypted"), "{e}");
}

#[test]
fn flatten_writes_a_copy_that_needs_no_parent() {
    let t = TempDir::new().expect("tempdir");
    let (base, thin, bytes) = thin_pair(t.path());
    let full = arg(t.path(), "full.hxz");
    ok(["flatten", "-q", &thin, &full]);
    std::fs::remove_file(&base).expect("rm");
    assert_eq!(ok(["cat", &full, "v2.bin"]), bytes);
    let v: Value = serde_json::from_slice(&ok(["inspect", "--json", &full])).expect("json");
    assert_eq!(v["chain"], serde_json::json!([]), "{v}");
    assert!(!v["required_features"].to_string().contains("thin"), "{v}");
    // Without its parent the thin one cannot be flattened; nor can a copy replace its source.
    let e = fails(["flatten", &thin, &arg(t.path(), "x.hxz")]);
    assert!(e.contains("--parent-path"), "{e}");
    assert!(!t.path().join("x.hxz").exists());
    let e = fails(["flatten", &full, &full]);
    assert!(e.contains("replace its source"), "{e}");
}
