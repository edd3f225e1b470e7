//! Golden fixtures of format v1 (`tests/fixtures/v1/`), committed once and never regenerated:
//! every future reader must read them exactly as described by `expected.json`.
//!
//! `generate_fixtures` wrote them (`cargo test -p hexz-core --test golden -- --ignored
//! generate_fixtures`); it does nothing while `expected.json` exists.
#![allow(clippy::unwrap_used)]

mod common;

use common::{fix_footer_crc, fix_header_crc};
use hexz_core::verify::verify;
use hexz_core::{
    Archive, Compression, DType, EntryKind, EntryMeta, Error, ReadOptions, WriteOptions,
};
use hexz_testkit::replay::fixtures_dir as dir;
use hexz_testkit::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn b3(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

// ---- The fixtures' inputs. The golden checks recompute what they can from these. ----

const TREE_ID: [u8; 16] = *b"hexz-golden-tree";
const RAW_ID: [u8; 16] = *b"hexz-golden-raw.";
const RECORDS_ID: [u8; 16] = *b"hexz-golden-recs";

fn meta(mode: u32, mtime_ns: i64) -> EntryMeta {
    EntryMeta { mode, mtime_ns }
}

enum Item {
    Dir(&'static str, EntryMeta),
    File(&'static str, Vec<u8>, EntryMeta),
    Link(&'static str, &'static str, EntryMeta),
}

fn tree_items() -> Vec<Item> {
    let readme = b"# Golden tree\n\nA fixture of the hexz format, version 1.\n".repeat(40);
    let main_rs = b"fn main() {\n    println!(\"hexz\");\n}\n".to_vec();
    let lib_rs = b"//! lib\npub fn answer() -> u32 {\n    42\n}\n".repeat(150);
    let blob = Rng::new(0x601d).bytes(6000);
    vec![
        Item::File("README.md", readme, meta(0o644, 1_700_000_000_000_000_000)),
        Item::Dir("data", meta(0o750, -1_000_000_001)),
        Item::File(
            "data/blob.bin",
            blob.clone(),
            meta(0o600, 1_700_000_001_000_000_005),
        ),
        Item::File("data/dup.bin", blob, meta(0o600, 1_700_000_002_000_000_000)),
        Item::File("data/empty", Vec::new(), meta(0o644, 0)),
        Item::File("data/zeros.bin", vec![0; 8192], meta(0o644, 1)),
        Item::Link(
            "link",
            "src/main.rs",
            meta(0o777, 1_700_000_003_999_999_999),
        ),
        Item::Dir("src", meta(0o755, 1_700_000_004_000_000_000)),
        Item::File("src/lib.rs", lib_rs, meta(0o644, 1_700_000_005_000_000_000)),
        Item::File(
            "src/main.rs",
            main_rs,
            meta(0o755, 1_700_000_006_000_000_000),
        ),
    ]
}

/// The `disk` stream of `raw-zstd.hxz`: text, a 96 KiB zero region, noise, a pattern.
fn disk_image() -> Vec<u8> {
    let mut d = Vec::new();
    d.extend(b"boot sector and superblock, compressible text. ".repeat(700));
    d.resize(32 << 10, 0x20);
    d.resize((32 + 96) << 10, 0);
    d.extend(Rng::new(0xd15c).bytes(6000));
    d.extend((0..20_000u32).map(|i| (i % 253) as u8));
    d
}

const ZERO_REGION: (u64, u64) = (32 << 10, 96 << 10);

fn f32_array() -> Vec<u8> {
    (0..120)
        .flat_map(|i| (i as f32 * 0.25 - 7.0).to_le_bytes())
        .collect()
}

fn u8_array() -> Vec<u8> {
    (0..35u8).map(|i| i * 7).collect()
}

const RECORDS_META: &str = r#"{"dataset":"golden","splits":{"train":8,"test":2},"version":1}"#;

// ---- Generator (run once). ----

fn write(name: &str, opts: WriteOptions, f: impl FnOnce(&mut hexz_core::ArchiveWriter)) -> Vec<u8> {
    let path = dir().join(name);
    let mut w = hexz_core::ArchiveWriter::create(&path, opts).unwrap();
    f(&mut w);
    w.finish().unwrap();
    std::fs::read(&path).unwrap()
}

fn describe(bytes: &[u8]) -> Value {
    let a = Archive::open_store(
        std::sync::Arc::new(hexz_core::MemStore::new(bytes.to_vec())),
        ReadOptions::default(),
    )
    .unwrap();
    let h = a.header();
    let s = a.summary();
    let mut codecs = BTreeMap::new();
    for b in a.blocks() {
        *codecs.entry(b.unwrap().codec.name()).or_insert(0u64) += 1;
    }
    json!({
        "file_len": bytes.len(),
        "file_blake3": b3(bytes),
        "root_hash": hex(&a.root_hash()),
        "archive_id": hex(&h.archive_id),
        "block_size": h.block_size,
        "required_features": h.required.0,
        "optional_features": h.optional.0,
        "logical_size": s.logical_size,
        "block_count": s.block_count,
        "index_pages": s.index_pages.len(),
        "codecs": codecs,
    })
}

#[test]
#[ignore = "writes tests/fixtures/v1 once; format v1 fixtures are never regenerated"]
fn generate_fixtures() {
    if dir().join("expected.json").exists() {
        // Never overwrite: the committed files are the definition of format v1 compatibility.
        eprintln!("tests/fixtures/v1 exists; format v1 fixtures are never regenerated");
        return;
    }
    std::fs::create_dir_all(dir()).unwrap();
    let mut expected = serde_json::Map::new();

    // tree-lz4.hxz
    let items = tree_items();
    let tree = write(
        "tree-lz4.hxz",
        WriteOptions {
            compression: Compression::Lz4,
            block_size: 4096,
            threads: 2,
            dedup: true,
            archive_id: Some(TREE_ID),
            encryption: None,
            ..WriteOptions::default()
        },
        |w| {
            for it in &items {
                match it {
                    Item::Dir(p, m) => w.add_dir_entry(p, *m).unwrap(),
                    Item::File(p, d, m) => w.add_bytes(p, d, *m).unwrap(),
                    Item::Link(p, t, m) => w.add_symlink(p, t, *m).unwrap(),
                }
            }
        },
    );
    let mut d = describe(&tree);
    d["entries"] = Value::Array(
        items
            .iter()
            .map(|it| match it {
                Item::Dir(p, m) => json!({"path": p, "kind": "dir", "mode": m.mode, "mtime_ns": m.mtime_ns, "size": 0}),
                Item::File(p, data, m) => json!({"path": p, "kind": "file", "mode": m.mode, "mtime_ns": m.mtime_ns, "size": data.len(), "blake3": b3(data)}),
                Item::Link(p, t, m) => json!({"path": p, "kind": "symlink", "mode": m.mode, "mtime_ns": m.mtime_ns, "size": 0, "target": t}),
            })
            .collect(),
    );
    expected.insert("tree-lz4.hxz".into(), d);

    // raw-zstd.hxz
    let disk = disk_image();
    let raw = write(
        "raw-zstd.hxz",
        WriteOptions {
            compression: Compression::Zstd(3),
            block_size: 16 << 10,
            threads: 2,
            dedup: true,
            archive_id: Some(RAW_ID),
            encryption: None,
            ..WriteOptions::default()
        },
        |w| {
            w.add_stream("disk", &disk[..], meta(0o600, 1_700_000_100_000_000_000))
                .unwrap();
        },
    );
    let mut d = describe(&raw);
    d["entries"] = json!([{"path": "disk", "kind": "stream", "mode": 0o600, "mtime_ns": 1_700_000_100_000_000_000i64, "size": disk.len(), "blake3": b3(&disk)}]);
    d["zero_region"] = json!([ZERO_REGION.0, ZERO_REGION.1]);
    expected.insert("raw-zstd.hxz".into(), d);

    // records.hxz
    let (f, u) = (f32_array(), u8_array());
    let recs = write(
        "records.hxz",
        WriteOptions {
            compression: Compression::Lz4,
            block_size: 4096,
            threads: 1,
            dedup: true,
            archive_id: Some(RECORDS_ID),
            encryption: None,
            ..WriteOptions::default()
        },
        |w| {
            w.add_array("features", DType::F32, &[10, 3, 4], &f)
                .unwrap();
            w.add_array("labels", DType::U8, &[5, 7], &u).unwrap();
            w.set_metadata(RECORDS_META.as_bytes()).unwrap();
        },
    );
    let mut d = describe(&recs);
    d["groups"] = json!([
        {"name": "features", "dtype": "float32", "shape": [3, 4], "first_record": 0, "record_count": 10,
         "records_blake3": f.chunks(48).map(b3).collect::<Vec<_>>()},
        {"name": "labels", "dtype": "uint8", "shape": [7], "first_record": 10, "record_count": 5,
         "records_blake3": u.chunks(7).map(b3).collect::<Vec<_>>()},
    ]);
    d["metadata"] = json!(RECORDS_META);
    expected.insert("records.hxz".into(), d);

    // Corrupt fixtures, each expecting one specific error.
    let corrupt = |name: &str, bytes: Vec<u8>, error: &str| {
        std::fs::write(dir().join(name), &bytes).unwrap();
        json!({"file_len": bytes.len(), "file_blake3": b3(&bytes), "error": error})
    };
    let mut truncated = recs.clone();
    truncated.truncate(recs.len() - 10);
    expected.insert(
        "corrupt-truncated.hxz".into(),
        corrupt("corrupt-truncated.hxz", truncated, "footer bad magic"),
    );
    let mut crc = recs.clone();
    let n = crc.len();
    crc[n - 12] ^= 0xFF; // footer_crc
    expected.insert(
        "corrupt-footer-crc.hxz".into(),
        corrupt("corrupt-footer-crc.hxz", crc, "footer checksum"),
    );
    let mut future = recs.clone();
    future[8..10].copy_from_slice(&2u16.to_le_bytes());
    fix_header_crc(&mut future);
    expected.insert(
        "corrupt-future-version.hxz".into(),
        corrupt(
            "corrupt-future-version.hxz",
            future,
            "unsupported version 2",
        ),
    );
    let mut feature = recs.clone();
    feature[16] |= 1 << 5;
    fix_header_crc(&mut feature);
    expected.insert(
        "corrupt-unknown-feature.hxz".into(),
        corrupt(
            "corrupt-unknown-feature.hxz",
            feature,
            "unknown feature bit 5",
        ),
    );
    let mut footer_version = recs.clone();
    let n = footer_version.len();
    footer_version[n - 16] = 9;
    fix_footer_crc(&mut footer_version);
    expected.insert(
        "corrupt-footer-version.hxz".into(),
        corrupt(
            "corrupt-footer-version.hxz",
            footer_version,
            "unsupported version 9",
        ),
    );
    // One flipped byte inside the stored bytes of README.md's first block.
    let a = Archive::open_store(
        std::sync::Arc::new(hexz_core::MemStore::new(tree.clone())),
        ReadOptions::default(),
    )
    .unwrap();
    let first = a.blocks().next().unwrap().unwrap();
    let mut block = tree.clone();
    block[first.stored_offset as usize + 5] ^= 0x01;
    let mut e = corrupt("corrupt-block.hxz", block, "integrity of README.md");
    e["corrupt_logical"] = json!([first.logical_offset, first.raw_len]);
    expected.insert("corrupt-block.hxz".into(), e);

    let text = serde_json::to_string_pretty(&Value::Object(expected)).unwrap();
    std::fs::write(dir().join("expected.json"), text + "\n").unwrap();
}

// ---- Golden checks against the committed files. ----

fn expected() -> Value {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load(name: &str) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    let e = expected()[name].clone();
    assert!(e.is_object(), "{name} missing from expected.json");
    assert_eq!(
        bytes.len() as u64,
        e["file_len"].as_u64().unwrap(),
        "{name} length"
    );
    assert_eq!(b3(&bytes), e["file_blake3"], "{name} was modified");
    (bytes, e)
}

fn open_file(name: &str) -> hexz_core::Result<Archive> {
    Archive::open(dir().join(name))
}

/// Header, summary, codec mix and root hash as recorded, and a clean verify.
fn check_common(name: &str) -> (Archive, Value) {
    let (bytes, e) = load(name);
    let a = open_file(name).unwrap();
    let d = describe(&bytes);
    for key in [
        "root_hash",
        "archive_id",
        "block_size",
        "required_features",
        "optional_features",
        "logical_size",
        "block_count",
        "index_pages",
        "codecs",
    ] {
        assert_eq!(d[key], e[key], "{name}: {key}");
    }
    assert_eq!(
        a.header().block_size as u64,
        e["block_size"].as_u64().unwrap()
    );
    let r = verify(&a, &|_| {}).unwrap();
    assert!(r.is_ok(), "{name}: {:?}", r.problems);
    assert_eq!(r.bytes, e["logical_size"].as_u64().unwrap());
    (a, e)
}

fn check_entries(a: &Archive, e: &Value) {
    let want = e["entries"].as_array().unwrap();
    let got = a.entries().unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.path, w["path"].as_str().unwrap());
        let kind = match g.kind {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Stream => "stream",
        };
        assert_eq!(kind, w["kind"], "{}", g.path);
        assert_eq!(g.mode as u64, w["mode"].as_u64().unwrap(), "{}", g.path);
        assert_eq!(g.mtime_ns, w["mtime_ns"].as_i64().unwrap(), "{}", g.path);
        assert_eq!(g.size, w["size"].as_u64().unwrap(), "{}", g.path);
        assert_eq!(g.target.as_deref(), w["target"].as_str(), "{}", g.path);
        if let Some(h) = w["blake3"].as_str() {
            let mut buf = vec![0u8; g.size as usize];
            assert_eq!(a.read_entry_at(g, 0, &mut buf).unwrap(), buf.len());
            assert_eq!(b3(&buf), h, "{} content", g.path);
        }
    }
}

mod tree_lz4 {
    use super::*;

    #[test]
    fn entries_and_contents() {
        let (a, e) = check_common("tree-lz4.hxz");
        check_entries(&a, &e);
        assert_eq!(a.header().archive_id, TREE_ID);
        assert_eq!(a.metadata().unwrap(), None);
        assert_eq!(a.record_count(), 0);
        // The inputs, recomputed: every file's bytes are exactly what was written.
        for it in tree_items() {
            let (path, kind) = match &it {
                Item::Dir(p, _) => (*p, EntryKind::Dir),
                Item::File(p, _, _) => (*p, EntryKind::File),
                Item::Link(p, _, _) => (*p, EntryKind::Symlink),
            };
            let en = a.entry(path).unwrap().unwrap();
            assert_eq!(en.kind, kind, "{path}");
            if let Item::File(_, data, m) = &it {
                assert_eq!((en.mode, en.mtime_ns), (m.mode, m.mtime_ns));
                assert_eq!(a.read_vec(en.data_offset, en.size as usize).unwrap(), *data);
            }
            if let Item::Link(_, t, _) = &it {
                assert_eq!(en.target.as_deref(), Some(*t));
            }
        }
    }

    #[test]
    fn holes_raw_blocks_and_dedup() {
        let (a, e) = check_common("tree-lz4.hxz");
        let codecs = &e["codecs"];
        for c in ["lz4", "none", "zero"] {
            assert!(
                codecs[c].as_u64().unwrap_or(0) > 0,
                "fixture has {c} blocks"
            );
        }
        let blob = a.entry("data/blob.bin").unwrap().unwrap();
        let dup = a.entry("data/dup.bin").unwrap().unwrap();
        let blocks: Vec<_> = a.blocks().map(|b| b.unwrap()).collect();
        let at = |off| blocks.iter().find(|b| b.logical_offset == off).unwrap();
        assert_eq!(
            at(blob.data_offset).stored_offset,
            at(dup.data_offset).stored_offset,
            "identical blocks stored once"
        );
    }
}

mod raw_zstd {
    use super::*;

    #[test]
    fn disk_stream() {
        let (a, e) = check_common("raw-zstd.hxz");
        check_entries(&a, &e);
        assert_eq!(a.header().archive_id, RAW_ID);
        assert!(a.header().required.has(hexz_format::RequiredFeatures::ZSTD));
        assert!(e["codecs"]["zstd"].as_u64().unwrap() > 0);
        assert!(e["codecs"]["zero"].as_u64().unwrap() >= 6);
        let disk = a.entry("disk").unwrap().unwrap();
        assert_eq!(disk.kind, EntryKind::Stream);
        let data = a.read_vec(disk.data_offset, disk.size as usize).unwrap();
        assert_eq!(data, disk_image());
        let z = &e["zero_region"];
        let (zo, zl) = (z[0].as_u64().unwrap(), z[1].as_u64().unwrap());
        assert!(a.read_vec(zo, zl as usize).unwrap().iter().all(|&b| b == 0));
    }
}

mod records {
    use super::*;

    #[test]
    fn groups_records_and_metadata() {
        let (a, e) = check_common("records.hxz");
        assert_eq!(a.header().archive_id, RECORDS_ID);
        assert_eq!(a.metadata().unwrap().unwrap(), RECORDS_META.as_bytes());
        assert_eq!(e["metadata"], RECORDS_META);
        assert_eq!(a.entries().unwrap().len(), 0);
        let groups = a.record_groups().unwrap();
        let want = e["groups"].as_array().unwrap();
        assert_eq!(groups.len(), want.len());
        assert_eq!(a.record_count(), 15);
        for (g, w) in groups.iter().zip(want) {
            assert_eq!(g.name, w["name"].as_str().unwrap());
            assert_eq!(g.dtype.name(), w["dtype"].as_str().unwrap());
            let shape: Vec<u64> = w["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(g.shape, shape);
            assert_eq!(g.first_record, w["first_record"].as_u64().unwrap());
            assert_eq!(g.record_count, w["record_count"].as_u64().unwrap());
            for (i, h) in w["records_blake3"].as_array().unwrap().iter().enumerate() {
                let r = a.record(g.first_record + i as u64).unwrap();
                assert_eq!(Some(r.length), g.sample_bytes());
                let bytes = a.read_vec(r.offset, r.length as usize).unwrap();
                assert_eq!(b3(&bytes), h.as_str().unwrap(), "{} record {i}", g.name);
            }
        }
        // The values themselves, recomputed from the generator's formulas.
        let f = &groups[0];
        assert_eq!(f.dtype, DType::F32);
        for i in 0..10u64 {
            let r = a.record(i).unwrap();
            let bytes = a.read_vec(r.offset, r.length as usize).unwrap();
            for (j, c) in bytes.chunks(4).enumerate() {
                let v = f32::from_le_bytes(c.try_into().unwrap());
                assert_eq!(v, (i * 12 + j as u64) as f32 * 0.25 - 7.0);
            }
        }
        let r = a.record(14).unwrap();
        assert_eq!(
            a.read_vec(r.offset, 7).unwrap(),
            (28..35u8).map(|i| i * 7).collect::<Vec<_>>()
        );
        assert_eq!(f32_array().len() + u8_array().len(), a.len() as usize);
    }
}

mod corrupt {
    use super::*;
    use hexz_format::Error as F;

    fn format_err(name: &str) -> F {
        load(name);
        match open_file(name) {
            Err(Error::Format { source, .. }) => source,
            other => panic!("{name}: expected a format error, got {:?}", other.err()),
        }
    }

    #[test]
    fn truncated() {
        assert_eq!(
            format_err("corrupt-truncated.hxz"),
            F::BadMagic { what: "footer" }
        );
    }

    #[test]
    fn bad_footer_crc() {
        let e = format_err("corrupt-footer-crc.hxz");
        assert!(matches!(e, F::Checksum { what: "footer", .. }), "{e:?}");
    }

    #[test]
    fn future_version() {
        assert_eq!(
            format_err("corrupt-future-version.hxz"),
            F::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        );
        assert_eq!(
            format_err("corrupt-footer-version.hxz"),
            F::UnsupportedVersion {
                found: 9,
                supported: 1
            }
        );
    }

    #[test]
    fn unknown_required_feature() {
        assert_eq!(
            format_err("corrupt-unknown-feature.hxz"),
            F::UnknownFeature { bit: 5 }
        );
    }

    #[test]
    fn flipped_block_byte() {
        let (_, e) = load("corrupt-block.hxz");
        let a = open_file("corrupt-block.hxz").unwrap();
        let off = e["corrupt_logical"][0].as_u64().unwrap();
        let readme = a.entry("README.md").unwrap().unwrap();
        assert!(readme.data_offset <= off && off < readme.data_offset + readme.size);
        match a.read_vec(off, 1) {
            Err(Error::Integrity { detail, .. }) => assert!(detail.contains("crc32c"), "{detail}"),
            other => panic!("expected Error::Integrity, got {other:?}"),
        }
        // Everything else still reads.
        let main = a.entry("src/main.rs").unwrap().unwrap();
        assert!(a.read_vec(main.data_offset, main.size as usize).is_ok());
        let r = verify(&a, &|_| {}).unwrap();
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].contains("crc32c mismatch"),
            "{:?}",
            r.problems
        );
    }
}

/// Every file in the fixture directory is described, and nothing described is missing.
#[test]
fn fixture_set_is_complete_and_small() {
    let e = expected();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hxz"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = e.as_object().unwrap().keys().cloned().collect();
    // The encrypted fixtures are described by encrypted.json (tests/encryption/golden.rs reads them).
    let enc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("encrypted.json")).unwrap())
            .unwrap();
    let enc_names: Vec<String> = enc
        .as_object()
        .unwrap()
        .keys()
        .filter(|n| n.ends_with(".hxz"))
        .cloned()
        .collect();
    listed.extend(enc_names.iter().cloned());
    // The signed fixture is described by encrypted-signed.json (tests/signing.rs reads it).
    let signed: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("encrypted-signed.json")).unwrap(),
    )
    .unwrap();
    listed.push("encrypted-signed.hxz".into());
    listed.sort();
    assert_eq!(on_disk, listed);
    let total: u64 = listed
        .iter()
        .map(|n| match enc.get(n) {
            Some(d) => d["file_len"].as_u64().unwrap(),
            None if n == "encrypted-signed.hxz" => signed["file_len"].as_u64().unwrap(),
            None => load(n).1["file_len"].as_u64().unwrap(),
        })
        .sum();
    assert!(total < 200 << 10, "fixtures total {total} bytes");
}
