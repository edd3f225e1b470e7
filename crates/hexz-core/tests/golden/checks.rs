//! Golden checks against the committed files: each reads as `expected.json` records.

use super::generate::*;
use super::{b3, dir, load};
use hexz_core::verify::verify;
use hexz_core::{Archive, DType, EntryKind, Error};
use serde_json::Value;

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
        assert_eq!(g.kind.name(), w["kind"], "{}", g.path);
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
        // Written when 2 was a future version: since v2 exists, this is a v2 header on a v1
        // file, refused because header and footer disagree (docs/FORMAT.md §15).
        let e = format_err("corrupt-future-version.hxz");
        assert!(
            matches!(&e, F::Inconsistent(m) if m.contains("version 2, the footer 1")),
            "{e:?}"
        );
        assert_eq!(
            format_err("corrupt-footer-version.hxz"),
            F::UnsupportedVersion {
                found: 9,
                supported: 2
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
