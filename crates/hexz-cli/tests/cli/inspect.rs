//! `inspect --json` and `ls` (plain, `--long`, `--json`).

use crate::util::{arg, make_tree, ok, walk};
use serde_json::Value;
use tempfile::TempDir;

fn packed_tree() -> (TempDir, std::path::PathBuf, String) {
    let t = TempDir::new().expect("tempdir");
    let src = t.path().join("src");
    make_tree(&src);
    let archive = arg(t.path(), "tree.hxz");
    ok([
        "pack",
        "-q",
        "--metadata",
        r#"{"name": "test"}"#,
        src.to_str().expect("utf-8"),
        &archive,
    ]);
    (t, src, archive)
}

#[test]
fn inspect_json_counts() {
    let (_t, src, archive) = packed_tree();
    let v: Value = serde_json::from_slice(&ok(["inspect", "--json", &archive])).expect("json");
    let n = |k: &str| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
    };
    let paths = walk(&src);
    assert_eq!(n("entries"), paths.len() as u64);
    assert_eq!(n("symlinks"), 2);
    assert_eq!(n("dirs"), 5);
    assert_eq!(n("files"), 7);
    assert_eq!(n("streams"), 0);
    assert_eq!(n("format_version"), 2);
    assert_eq!(n("block_size"), 65536);
    assert_eq!(
        n("blocks"),
        n("stored_blocks") + n("zero_blocks") + n("dedup_blocks")
    );
    // The 3 MB copy repeats every block of the original; a third of each is zeros.
    assert!(n("dedup_blocks") >= 30, "{v}");
    assert!(n("zero_blocks") >= 30, "{v}");
    let codec_blocks: u64 = ["lz4", "zstd", "none", "zero"]
        .iter()
        .map(|c| v["codecs"][c]["blocks"].as_u64().expect("codec blocks"))
        .sum();
    assert_eq!(codec_blocks, n("blocks"));
    assert_eq!(v["codecs"]["zero"]["blocks"], v["zero_blocks"]);
    let files: u64 = paths
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(src.join(p)).ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    assert_eq!(n("logical_size"), files);
    assert_eq!(v["metadata"], true);
    assert_eq!(v["signed"], false);
    assert_eq!(v["required_features"], serde_json::json!([]));
    assert_eq!(v["root_hash"].as_str().map(str::len), Some(64));
    assert_eq!(v["archive_id"].as_str().map(str::len), Some(32));
    assert!(v["ratio"].as_f64().expect("ratio") > 1.0);

    let text = String::from_utf8(ok(["info", &archive])).expect("utf-8");
    for label in [
        "format",
        "block size",
        "ratio",
        "codecs",
        "entries",
        "root hash",
    ] {
        assert!(text.contains(label), "{label} missing in\n{text}");
    }
}

#[test]
fn zstd_sets_the_feature() {
    let t = TempDir::new().expect("tempdir");
    let f = t.path().join("f.txt");
    std::fs::write(&f, crate::util::text(300_000)).expect("write");
    let archive = arg(t.path(), "f.hxz");
    ok([
        "pack",
        "-q",
        "-c",
        "zstd",
        f.to_str().expect("utf-8"),
        &archive,
    ]);
    let v: Value = serde_json::from_slice(&ok(["inspect", "--json", &archive])).expect("json");
    assert_eq!(v["required_features"], serde_json::json!(["zstd"]));
    assert!(v["codecs"]["zstd"]["blocks"].as_u64() > Some(0), "{v}");
}

#[test]
fn ls_lists_every_path() {
    let (_t, src, archive) = packed_tree();
    let want: Vec<String> = walk(&src)
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();

    let plain = String::from_utf8(ok(["ls", &archive])).expect("utf-8");
    let mut got: Vec<&str> = plain.lines().collect();
    got.sort();
    assert_eq!(got, want);

    let v: Value = serde_json::from_slice(&ok(["ls", "--json", &archive])).expect("json");
    let entries = v.as_array().expect("array");
    let mut got: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    got.sort();
    assert_eq!(got, want);
    let link = entries
        .iter()
        .find(|e| e["path"] == "a/b/link")
        .expect("link entry");
    assert_eq!(link["kind"], "symlink");
    assert_eq!(link["target"], "../medium.txt");
    let medium = entries
        .iter()
        .find(|e| e["path"] == "a/medium.txt")
        .expect("medium entry");
    assert_eq!(medium["size"], 100_000);
    assert_eq!(medium["mode"], 0o600);
    assert_eq!(medium["mtime_ns"], 1_500_000_000_123_456_789i64);
    assert_eq!(medium["mtime"], "2017-07-14T02:40:00Z");

    let long = String::from_utf8(ok(["ls", "--long", &archive])).expect("utf-8");
    assert!(
        long.lines().any(|l| l.starts_with("-rw-------")
            && l.contains(" 100000 2017-07-14T02:40:00Z a/medium.txt")),
        "{long}"
    );
    assert!(
        long.lines()
            .any(|l| l.starts_with("lrwxrwxrwx") && l.ends_with("a/b/link -> ../medium.txt")),
        "{long}"
    );
    assert!(long
        .lines()
        .any(|l| l.starts_with("drwxr-x---") && l.ends_with(" a/b")));
}

/// `inspect` shows each archive's own format version: a v1 golden fixture says 1.
#[test]
fn inspect_shows_the_archives_format_version() {
    let fixture = hexz_testkit::replay::fixtures_dir().join("tree-lz4.hxz");
    let fixture = fixture.to_str().expect("utf-8");
    let v: Value = serde_json::from_slice(&ok(["inspect", "--json", fixture])).expect("json");
    assert_eq!(v["format_version"], 1, "{v}");
    let text = String::from_utf8(ok(["inspect", fixture])).expect("utf-8");
    assert!(text.contains("format        version 1\n"), "{text}");
}

/// The v2 golden fixtures with entry pages and a page directory: `inspect` names both
/// extensions, and `verify` walks the pages behind them.
#[test]
fn inspect_names_the_extensions_of_paged_archives() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v2");
    for (name, kind, extension) in [
        ("entry-pages.hxz", 2, "entry pages"),
        ("page-directory.hxz", 3, "page directory"),
    ] {
        let path = fixtures.join(name);
        let path = path.to_str().expect("utf-8");
        let v: Value = serde_json::from_slice(&ok(["inspect", "--json", path])).expect("json");
        let x = &v["extensions"][0];
        assert_eq!(x["type"], kind, "{name}: {v}");
        assert_eq!(x["name"], extension, "{name}: {v}");
        assert_eq!(x["critical"], true, "{name}: {v}");
        ok(["verify", "-q", path]);
    }
}
