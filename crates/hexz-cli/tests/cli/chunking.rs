//! `pack --chunking cdc`: two versions of a file, one with bytes inserted, store little more
//! than one with content-defined chunks; `cat` gives both back; bad sizes are refused.

use crate::util::{arg, fails, ok};
use hexz_testkit::Rng;
use serde_json::Value;
use tempfile::TempDir;

#[test]
fn cdc_keeps_an_edited_copy_small() {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    std::fs::create_dir(&src).expect("mkdir");
    let v1 = Rng::new(11).bytes(6 << 20);
    let mut v2 = v1.clone();
    v2.splice(2 << 20..2 << 20, Rng::new(12).bytes(4321));
    std::fs::write(src.join("v1.bin"), &v1).expect("write");
    std::fs::write(src.join("v2.bin"), &v2).expect("write");
    let size_of = |chunking: &str| {
        let archive = arg(t.path(), &format!("{chunking}.hxz"));
        let s = src.to_str().expect("utf-8");
        ok(["pack", "-q", "--chunking", chunking, s, &archive]);
        let v: Value = serde_json::from_slice(&ok(["inspect", "--json", &archive])).expect("json");
        let features = v["optional_features"].to_string();
        assert_eq!(features.contains("cdc"), chunking == "cdc", "{v}");
        assert_eq!(ok(["cat", &archive, "v2.bin"]), v2);
        ok(["verify", "-q", &archive]);
        v["file_size"].as_u64().expect("file size")
    };
    let (cdc, fixed) = (size_of("cdc"), size_of("fixed"));
    assert!(cdc < (v1.len() as u64) + (1 << 20), "cdc: {cdc} bytes");
    assert!(
        fixed > (v1.len() as u64) + (3 << 20),
        "fixed: {fixed} bytes"
    );
}

#[test]
fn bad_chunk_sizes_are_refused() {
    let t = TempDir::new().expect("tempdir");
    let input = t.path().join("f");
    std::fs::write(&input, b"data").expect("write");
    let input = input.to_str().expect("utf-8");
    let out = arg(t.path(), "out.hxz");
    let e = fails(["pack", "--chunk-avg", "8K", input, &out]);
    assert!(e.contains("--chunking cdc"), "{e}");
    let e = fails([
        "pack",
        "--chunking",
        "cdc",
        "--chunk-max",
        "1K",
        input,
        &out,
    ]);
    assert!(e.contains("chunk"), "{e}");
    assert!(!std::path::Path::new(&out).exists());
}
