//! The reader rules `docs/FORMAT.md` states exactly (§15, "v1, 2026-12-06"): each crafted
//! archive breaks one of them, with valid checksums, and is refused naming the rule and where.

use crate::common::{build, Surgery};
use crate::util::{format_err, index_edit, layout, open, put, small};
use hexz_core::verify::verify;
use hexz_core::{read_header, Compression, Error, MemStore, Part, WriteOptions};
use hexz_format::header::Kdf;
use hexz_format::{DType, Error as F, FrameKind, RequiredFeatures};
use std::sync::Arc;

#[test]
fn stored_bytes_may_not_overlap_in_part() {
    let f = small();
    let l = layout(&f.bytes);
    let (a, b) = (l.blocks[0], l.blocks[1]);
    assert!(a.stored_len > 1 && b.stored_len > 0, "two stored blocks");
    // Block 1 starts one byte into block 0's stored bytes: neither the same bytes (dedup)
    // nor separate ones.
    let overlapping = index_edit(&f.bytes, 1, 8, &(a.stored_offset + 1).to_le_bytes());
    let archive = open(&overlapping).unwrap();
    let e = format_err(archive.read_vec(0, 10), "partial overlap");
    assert!(
        matches!(&e, F::Inconsistent(m) if m.contains("overlap")),
        "{e:?}"
    );
    let report = verify(&archive, &|_| {}).unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("overlap")),
        "{:?}",
        report.problems
    );
    // Exactly block 0's bytes is dedup, which parses (the bytes then fail block 1's
    // checksum: an integrity error, not a format one).
    let same = index_edit(&f.bytes, 1, 8, &a.stored_offset.to_le_bytes());
    let same = index_edit(&same, 1, 16, &a.stored_len.to_le_bytes());
    let archive = open(&same).unwrap();
    let r = archive.read_vec(0, f.logical.len());
    assert!(matches!(r, Err(Error::Integrity { .. })), "{:?}", r.err());
}

/// An LZ4 archive, so that its header does not set `ZSTD`.
fn lz4_archive() -> Vec<u8> {
    let opts = WriteOptions {
        block_size: 4096,
        compression: Compression::Lz4,
        threads: 1,
        ..Default::default()
    };
    build(opts, |w| {
        w.add_bytes("f", &vec![5u8; 20_000], Default::default())
    })
    .unwrap()
}

#[test]
fn codec_2_needs_the_zstd_feature_bit() {
    let bytes = lz4_archive();
    let s = Surgery::new(&bytes);
    assert!(!s.header.required.has(RequiredFeatures::ZSTD));
    // A block entry of codec 2: refused when its index page is read.
    let archive = open(&index_edit(&bytes, 0, 24, &[2])).unwrap();
    let Err(Error::Format { place, source }) = archive.read_vec(0, 10) else {
        panic!("expected a format error");
    };
    assert_eq!(place.part, Part::IndexPage { index: 0 });
    assert!(source.to_string().contains("ZSTD"), "{source}");
    // A frame of codec 2 (the entries table): refused at open.
    let mut s = Surgery::new(&bytes);
    s.summary.entries.codec = 2;
    let Err(Error::Format { place, source }) = open(&s.finish()) else {
        panic!("expected a format error");
    };
    assert!(
        matches!(place.part, Part::Frame { kind, .. } if kind == FrameKind::Entries.name()),
        "{place}"
    );
    assert!(source.to_string().contains("ZSTD"), "{source}");
}

#[test]
fn a_record_is_as_long_as_its_groups_shape_says() {
    let f = small();
    let archive = open(&f.bytes).unwrap();
    let groups = archive.record_groups().unwrap();
    assert_eq!(groups[0].dtype, DType::U16);
    // The same records, declared u32: each is now half the length its shape needs.
    let mut s = Surgery::new(&f.bytes);
    let mut raw = s.raw(&s.summary.record_groups);
    put(&mut raw, 29, &[DType::U32.id()]);
    s.summary.record_groups = s.append_frame(&raw);
    let archive = open(&s.finish()).unwrap();
    let Err(Error::Format { place, source }) = archive.record(0) else {
        panic!("expected a format error");
    };
    assert_eq!(place.part, Part::RecordPage { index: 0 });
    assert!(source.to_string().contains("record 0 is"), "{source}");
    let report = verify(&archive, &|_| {}).unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("record page 0")),
        "{:?}",
        report.problems
    );
}

#[test]
fn metadata_is_a_utf8_json_object() {
    for bad in [&b"[1, 2]"[..], b"not json", b"{\"k\": \"\xff\"}"] {
        let mut s = Surgery::new(&small().bytes);
        s.summary.metadata = s.append_frame(bad);
        let archive = open(&s.finish()).unwrap();
        let e = format_err(archive.metadata(), "metadata");
        assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
        assert!(!verify(&archive, &|_| {}).unwrap().is_ok());
    }
}

#[test]
fn kdf_limits_are_checked_whenever_a_header_is_read() {
    // An unencrypted archive whose header claims an Argon2id cost beyond §12: refused by the
    // header parser itself, so even `read_header` (what `inspect` shows) refuses it.
    for (m, t, p) in [(1 << 22, 3, 4), (65536, 65, 4), (65536, 3, 0), (16, 3, 4)] {
        let mut s = Surgery::new(&small().bytes);
        s.header.kdf = Kdf::Argon2id {
            m_cost: m,
            t_cost: t,
            parallelism: p,
            salt: [1; 16],
        };
        s.rewrite_header();
        let bytes = s.finish();
        let store = MemStore::new(bytes.clone());
        let e = match read_header(&store) {
            Err(Error::Format { place, source }) => {
                assert_eq!(place.part, Part::Header);
                source
            }
            other => panic!("({m}, {t}, {p}): expected a format error, got {other:?}"),
        };
        assert!(
            matches!(
                e,
                F::Limit { .. }
                    | F::Invalid {
                        what: "kdf_m_cost",
                        ..
                    }
            ),
            "({m}, {t}, {p}): {e:?}"
        );
        assert!(hexz_core::Archive::open_store(Arc::new(store), Default::default()).is_err());
    }
}
