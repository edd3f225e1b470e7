//! The fixtures' inputs, what is recorded about each (`describe`), and `generate_fixtures`,
//! which wrote them once. The golden checks recompute what they can from these inputs.

use crate::common::{fix_footer_crc, fix_header_crc};
use hexz_core::{Archive, Compression, DType, EntryMeta, ReadOptions, WriteOptions};
use hexz_testkit::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{b3, dir, hex};

// ---- The fixtures' inputs. The golden checks recompute what they can from these. ----

pub(crate) const TREE_ID: [u8; 16] = *b"hexz-golden-tree";
pub(crate) const RAW_ID: [u8; 16] = *b"hexz-golden-raw.";
pub(crate) const RECORDS_ID: [u8; 16] = *b"hexz-golden-recs";

pub(crate) fn meta(mode: u32, mtime_ns: i64) -> EntryMeta {
    EntryMeta { mode, mtime_ns }
}

pub(crate) enum Item {
    Dir(&'static str, EntryMeta),
    File(&'static str, Vec<u8>, EntryMeta),
    Link(&'static str, &'static str, EntryMeta),
}

pub(crate) fn tree_items() -> Vec<Item> {
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
pub(crate) fn disk_image() -> Vec<u8> {
    let mut d = Vec::new();
    d.extend(b"boot sector and superblock, compressible text. ".repeat(700));
    d.resize(32 << 10, 0x20);
    d.resize((32 + 96) << 10, 0);
    d.extend(Rng::new(0xd15c).bytes(6000));
    d.extend((0..20_000u32).map(|i| (i % 253) as u8));
    d
}

pub(crate) const ZERO_REGION: (u64, u64) = (32 << 10, 96 << 10);

pub(crate) fn f32_array() -> Vec<u8> {
    (0..120)
        .flat_map(|i| (i as f32 * 0.25 - 7.0).to_le_bytes())
        .collect()
}

pub(crate) fn u8_array() -> Vec<u8> {
    (0..35u8).map(|i| i * 7).collect()
}

pub(crate) const RECORDS_META: &str =
    r#"{"dataset":"golden","splits":{"train":8,"test":2},"version":1}"#;

// ---- Generator (run once). ----

pub(crate) fn write(
    name: &str,
    opts: WriteOptions,
    f: impl FnOnce(&mut hexz_core::ArchiveWriter),
) -> Vec<u8> {
    let path = dir().join(name);
    let mut w = hexz_core::ArchiveWriter::create(&path, opts).unwrap();
    f(&mut w);
    w.finish().unwrap();
    std::fs::read(&path).unwrap()
}

pub(crate) fn describe(bytes: &[u8]) -> Value {
    let a = Archive::open_store(
        std::sync::Arc::new(hexz_core::MemStore::new(bytes.to_vec())),
        ReadOptions::default(),
    )
    .unwrap();
    describe_archive(&a, bytes)
}

/// [`describe`] of an archive already open (a thin one, opened from its file beside its
/// parent), whose file holds `bytes`.
pub(crate) fn describe_archive(a: &Archive, bytes: &[u8]) -> Value {
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
        "index_pages": s.index_page_count,
        "codecs": codecs,
    })
}

#[test]
#[ignore = "writes tests/fixtures/v1 once; format v1 fixtures are never regenerated"]
pub(crate) fn generate_fixtures() {
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
