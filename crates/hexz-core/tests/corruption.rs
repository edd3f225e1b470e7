//! Corrupt, truncated and crafted archives: each is refused with a specific error, and never
//! makes the engine panic, hang or return wrong bytes (`docs/FORMAT.md` §12, §14).
//!
//! Crafted inputs are built with valid checksums (see `common::Surgery`) so that only the
//! check under test can catch them.
#![allow(clippy::unwrap_used)]

mod common;

use common::open_read::exercise;
use common::{
    build, fix_footer_crc, fix_header_crc, format_source, frame_raw, open_mem, quiet_opts, Surgery,
};
use hexz_core::verify::verify;
use hexz_core::{Archive, Compression, DType, EntryMeta, Error, Part, ReadOptions, WriteOptions};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::{BlockEntry, Codec, Error as F, FrameRef};
use hexz_testkit::data::mixed_data;
use hexz_testkit::Rng;
use std::sync::OnceLock;

/// An archive and the logical stream it holds.
struct Fixture {
    bytes: Vec<u8>,
    logical: Vec<u8>,
}

const M: EntryMeta = EntryMeta {
    mode: 0o644,
    mtime_ns: 1_700_000_000_123_456_789,
};

/// Two index pages (4096 entries each), two record pages, entries of every kind, records,
/// metadata; blocks stored as lz4, raw, holes and dedup references.
fn rich() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let readme: Vec<u8> = b"hexz corruption fixture: lorem ipsum dolor sit amet\n"
            .iter()
            .cycle()
            .take(10_000)
            .copied()
            .collect();
        let noise = Rng::new(1).bytes(12_000);
        let pattern: Vec<u8> = (0..4096u32).map(|i| (i % 61) as u8 + b' ').collect();
        let mut disk = vec![0u8; 4200 * 4096];
        let mut rng = Rng::new(2);
        for (i, b) in disk.chunks_mut(4096).enumerate() {
            if i % 97 == 0 {
                b.copy_from_slice(&pattern);
            } else if i % 211 == 5 {
                rng.fill(b);
            }
        }
        let x: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let feat: Vec<u8> = (0..120u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let bytes = build(
            WriteOptions {
                block_size: 4096,
                compression: Compression::Lz4,
                threads: 2,
                ..Default::default()
            },
            |w| {
                w.add_dir_entry("docs", M)?;
                w.add_bytes("docs/readme.txt", &readme, M)?;
                w.add_symlink("latest", "docs/readme.txt", M)?;
                w.add_bytes("bin/noise", &noise, M)?;
                w.add_stream("disk", &disk[..], M)?;
                w.add_array("x", DType::U8, &[5000, 1], &x)?;
                w.add_array("feat", DType::F32, &[10, 3, 4], &feat)?;
                w.set_metadata(br#"{"name":"rich","n":3}"#)
            },
        )
        .unwrap();
        let logical = [readme, noise, disk, x, feat].concat();
        let f = Fixture { bytes, logical };
        let a = open(&f.bytes).unwrap();
        assert_eq!(
            a.summary().index_pages.len(),
            2,
            "fixture needs two index pages"
        );
        assert_eq!(
            a.summary().record_pages.len(),
            2,
            "fixture needs two record pages"
        );
        assert!(a.read_vec(0, f.logical.len()).unwrap() == f.logical);
        f
    })
}

/// A few KB: every byte of it is flipped in turn.
fn small() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let text: Vec<u8> = b"small archive, every byte flipped. "
            .iter()
            .cycle()
            .take(9000)
            .copied()
            .collect();
        let noise = Rng::new(3).bytes(1500);
        let zeros = vec![0u8; 4096];
        let arr: Vec<u8> = (0..24u8).collect();
        let bytes = build(
            WriteOptions {
                block_size: 4096,
                compression: Compression::Zstd(3),
                threads: 1,
                ..Default::default()
            },
            |w| {
                w.add_dir_entry("d", M)?;
                w.add_bytes("d/text", &text, M)?;
                w.add_bytes("noise", &noise, M)?;
                w.add_bytes("zeros", &zeros, M)?;
                w.add_symlink("d/link", "text", M)?;
                w.add_array("a", DType::U16, &[6, 2], &arr)?;
                w.set_metadata(br#"{"k":"v"}"#)
            },
        )
        .unwrap();
        let logical = [text, noise, zeros, arr].concat();
        Fixture { bytes, logical }
    })
}

fn open(bytes: &[u8]) -> hexz_core::Result<Archive> {
    open_mem(bytes, quiet_opts())
}

/// The format error an engine result must hold.
fn format_err<T>(r: hexz_core::Result<T>, ctx: &str) -> F {
    match r {
        Err(e) => match format_source(&e) {
            Some(f) => f.clone(),
            None => panic!("{ctx}: expected Error::Format, got {e:?}"),
        },
        Ok(_) => panic!("{ctx}: expected Error::Format, got Ok"),
    }
}

fn integrity_err<T>(r: hexz_core::Result<T>, ctx: &str) -> (String, String) {
    match r {
        Err(Error::Integrity { place, detail }) => (place.to_string(), detail),
        Err(e) => panic!("{ctx}: expected Error::Integrity, got {e:?}"),
        Ok(_) => panic!("{ctx}: expected Error::Integrity, got Ok"),
    }
}

/// Every stored block (deduplicated by stored offset) and every frame of an archive.
struct Layout {
    blocks: Vec<BlockEntry>,
    frames: Vec<(String, FrameRef)>,
    summary_offset: u64,
    summary_len: u64,
}

fn layout(bytes: &[u8]) -> Layout {
    let s = Surgery::new(bytes);
    let mut blocks = Vec::new();
    let mut frames = Vec::new();
    for (i, p) in s.summary.index_pages.iter().enumerate() {
        let raw = frame_raw(bytes, &p.frame);
        blocks
            .extend(BlockEntry::parse_page(&raw, p.first, s.footer.summary_offset, false).unwrap());
        frames.push((format!("index page {i}"), p.frame));
    }
    for (i, p) in s.summary.record_pages.iter().enumerate() {
        frames.push((format!("record page {i}"), p.frame));
    }
    for (name, f) in [
        ("entries table", s.summary.entries),
        ("metadata", s.summary.metadata),
        ("record groups table", s.summary.record_groups),
    ] {
        if !f.is_absent() {
            frames.push((name.to_string(), f));
        }
    }
    Layout {
        blocks,
        frames,
        summary_offset: s.footer.summary_offset,
        summary_len: s.footer.summary_stored_len as u64,
    }
}

/// Distinct stored blocks (first logical block using each stored range).
fn stored_blocks(l: &Layout) -> Vec<BlockEntry> {
    let mut seen = std::collections::HashSet::new();
    l.blocks
        .iter()
        .filter(|b| b.codec != Codec::Zero && seen.insert(b.stored_offset))
        .copied()
        .collect()
}

fn flip(bytes: &[u8], at: u64, mask: u8) -> Vec<u8> {
    let mut m = bytes.to_vec();
    m[at as usize] ^= mask;
    m
}

mod truncation {
    use super::*;

    fn expect_refused(bytes: &[u8], len: usize, ctx: &str) {
        let e = format_err(open(&bytes[..len]), ctx);
        if len < HEADER_LEN + FOOTER_LEN {
            assert!(
                matches!(
                    e,
                    F::Truncated {
                        what: "archive",
                        ..
                    }
                ),
                "{ctx}: {e:?}"
            );
        } else {
            assert_eq!(e, F::BadMagic { what: "footer" }, "{ctx}");
        }
    }

    fn boundaries(bytes: &[u8]) -> Vec<u64> {
        let l = layout(bytes);
        let len = bytes.len() as u64;
        let mut points = vec![0, 1, 64, 127, 128, 129, 191, 192, 193];
        for b in &l.blocks {
            if b.codec != Codec::Zero {
                points.extend([b.stored_offset, b.stored_offset + b.stored_len as u64]);
            }
        }
        for (_, f) in &l.frames {
            points.extend([f.offset, f.offset + f.stored_len as u64]);
        }
        points.extend([l.summary_offset, l.summary_offset + l.summary_len, len - 64]);
        let mut all: Vec<u64> = points
            .iter()
            .flat_map(|&p| [p.saturating_sub(1), p, p + 1])
            .filter(|&p| p < len)
            .collect();
        all.push(len - 1);
        all.sort_unstable();
        all.dedup();
        all
    }

    #[test]
    fn at_every_structural_boundary() {
        let f = rich();
        let points = boundaries(&f.bytes);
        assert!(points.len() > 50, "{} boundaries", points.len());
        for len in points {
            expect_refused(&f.bytes, len as usize, &format!("truncated to {len}"));
        }
    }

    #[test]
    fn at_every_byte_of_the_last_400() {
        let f = rich();
        let n = f.bytes.len();
        for len in n - 400..n {
            expect_refused(&f.bytes, len, &format!("truncated to {len} of {n}"));
        }
    }

    #[test]
    fn at_every_byte_of_a_small_archive() {
        let f = small();
        for len in 0..f.bytes.len() {
            expect_refused(&f.bytes, len, &format!("truncated to {len}"));
        }
    }

    /// A lost middle: the file is cut but still ends with the original footer.
    #[test]
    fn cut_before_an_intact_footer() {
        let f = rich();
        let footer = &f.bytes[f.bytes.len() - FOOTER_LEN..];
        for cut in boundaries(&f.bytes) {
            let cut = cut as usize;
            if cut + FOOTER_LEN >= f.bytes.len() {
                continue;
            }
            let m = [&f.bytes[..cut], footer].concat();
            let e = format_err(open(&m), &format!("cut at {cut} + footer"));
            if m.len() < HEADER_LEN + FOOTER_LEN {
                assert!(matches!(e, F::Truncated { .. }), "cut at {cut}: {e:?}");
            } else if cut < HEADER_LEN {
                assert_eq!(e, F::BadMagic { what: "header" }, "cut at {cut}");
            } else {
                assert!(
                    matches!(
                        e,
                        F::OutOfBounds {
                            what: "summary",
                            ..
                        }
                    ),
                    "cut at {cut}: {e:?}"
                );
            }
        }
    }
}

mod header {
    use super::*;

    #[test]
    fn every_flipped_header_byte() {
        let f = rich();
        for i in 0..HEADER_LEN as u64 {
            for mask in [0x01u8, 0x80, 0xFF] {
                let e = format_err(open(&flip(&f.bytes, i, mask)), &format!("header byte {i}"));
                let ok = match i {
                    0..8 => e == F::BadMagic { what: "header" },
                    8..10 => matches!(e, F::UnsupportedVersion { supported: 1, .. }),
                    10..12 => matches!(
                        e,
                        F::Invalid {
                            what: "header_len",
                            ..
                        }
                    ),
                    _ => matches!(e, F::Checksum { what: "header", .. }),
                };
                assert!(ok, "header byte {i} ^ {mask:#x}: {e:?}");
            }
        }
    }

    #[test]
    fn wrong_magic() {
        let f = small();
        let mut zip = b"PK\x03\x04".to_vec();
        zip.resize(f.bytes.len(), 0);
        let mut no_magic = f.bytes.clone();
        no_magic[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        let random = Rng::new(4).bytes(10_000);
        for (name, bytes) in [("zip", zip), ("png magic", no_magic), ("random", random)] {
            assert_eq!(
                format_err(open(&bytes), name),
                F::BadMagic { what: "header" },
                "{name}"
            );
        }
        let mut bad_footer_magic = f.bytes.clone();
        let n = bad_footer_magic.len();
        bad_footer_magic[n - 1] = b'X';
        assert_eq!(
            format_err(open(&bad_footer_magic), "footer magic"),
            F::BadMagic { what: "footer" }
        );
        assert!(matches!(
            format_err(open(&[]), "empty"),
            F::Truncated {
                what: "archive",
                have: 0,
                ..
            }
        ));
    }

    #[test]
    fn future_version() {
        for v in [2u16, 0, 0xFFFF] {
            let mut m = small().bytes.clone();
            m[8..10].copy_from_slice(&v.to_le_bytes());
            fix_header_crc(&mut m);
            assert_eq!(
                format_err(open(&m), "version"),
                F::UnsupportedVersion {
                    found: v,
                    supported: 1
                }
            );
        }
    }

    #[test]
    fn future_footer_version() {
        let mut m = small().bytes.clone();
        let n = m.len();
        m[n - 16..n - 14].copy_from_slice(&2u16.to_le_bytes());
        fix_footer_crc(&mut m);
        assert_eq!(
            format_err(open(&m), "footer version"),
            F::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        );
    }

    fn with_required(bits: u64) -> Vec<u8> {
        let mut m = small().bytes.clone();
        let old = u64::from_le_bytes(m[16..24].try_into().unwrap());
        m[16..24].copy_from_slice(&(old | bits).to_le_bytes());
        fix_header_crc(&mut m);
        m
    }

    #[test]
    fn unknown_required_feature() {
        for (bits, lowest) in [
            (1u64 << 3, 3),
            (1 << 17, 17),
            (1 << 63, 63),
            (1 << 9 | 1 << 40, 9),
        ] {
            assert_eq!(
                format_err(open(&with_required(bits)), "feature"),
                F::UnknownFeature { bit: lowest }
            );
        }
    }

    #[test]
    fn thin_archives_are_unsupported_for_now() {
        let r = open(&with_required(hexz_format::RequiredFeatures::THIN));
        assert!(matches!(r, Err(Error::Unsupported(_))), "{:?}", r.err());
    }

    #[test]
    fn encrypted_bit_without_cipher() {
        let e = format_err(
            open(&with_required(hexz_format::RequiredFeatures::ENCRYPTED)),
            "encrypted",
        );
        assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
    }

    #[test]
    fn unknown_optional_feature_is_ignored() {
        let f = small();
        let mut m = f.bytes.clone();
        m[24..32].copy_from_slice(&(1u64 << 40 | 1).to_le_bytes());
        fix_header_crc(&mut m);
        let a = open(&m).unwrap();
        assert!(a.read_vec(0, f.logical.len()).unwrap() == f.logical);
        assert!(verify(&a, &|_| {}).unwrap().is_ok());
    }

    #[test]
    fn reserved_header_fields() {
        for at in [50usize, 51, 100, 123] {
            let mut m = small().bytes.clone();
            m[at] = 1;
            fix_header_crc(&mut m);
            assert!(
                matches!(format_err(open(&m), "reserved"), F::Reserved { .. }),
                "byte {at}"
            );
        }
        // kdf parameters and key_check must be zero without encryption.
        for at in [52usize, 64, 80] {
            let mut m = small().bytes.clone();
            m[at] = 1;
            fix_header_crc(&mut m);
            assert!(
                matches!(format_err(open(&m), "kdf"), F::Reserved { .. }),
                "byte {at}"
            );
        }
    }

    #[test]
    fn invalid_header_fields() {
        for (bs, name) in [
            (1000u32, "not a power of two"),
            (2048, "too small"),
            (32 << 20, "too big"),
        ] {
            let mut m = small().bytes.clone();
            m[12..16].copy_from_slice(&bs.to_le_bytes());
            fix_header_crc(&mut m);
            assert!(
                matches!(
                    format_err(open(&m), name),
                    F::Invalid {
                        what: "block_size",
                        ..
                    }
                ),
                "{name}"
            );
        }
        for (at, what) in [(48usize, "cipher"), (49, "kdf")] {
            let mut m = small().bytes.clone();
            m[at] = 9;
            fix_header_crc(&mut m);
            let e = format_err(open(&m), what);
            assert!(
                matches!(e, F::Invalid { what: w, .. } if w == what),
                "{e:?}"
            );
        }
    }
}

mod footer {
    use super::*;

    type Check = fn(&F) -> bool;

    #[test]
    fn every_flipped_footer_byte() {
        let f = rich();
        let base = (f.bytes.len() - FOOTER_LEN) as u64;
        for i in 0..FOOTER_LEN as u64 {
            for mask in [0x01u8, 0x80] {
                let e = format_err(open(&flip(&f.bytes, base + i, mask)), "footer");
                let ok = match i {
                    18..20 | 32..48 => matches!(e, F::Reserved { what: "footer" }),
                    48..50 => matches!(e, F::UnsupportedVersion { supported: 1, .. }),
                    50..52 => matches!(
                        e,
                        F::Invalid {
                            what: "footer_len",
                            ..
                        }
                    ),
                    56..64 => e == F::BadMagic { what: "footer" },
                    _ => matches!(e, F::Checksum { what: "footer", .. }),
                };
                assert!(ok, "footer byte {i} ^ {mask:#x}: {e:?}");
            }
        }
    }

    #[test]
    fn crc_fixed_footer_fields() {
        let f = small();
        let n = f.bytes.len();
        let cases: [(usize, &[u8], Check); 5] = [
            // summary_codec = zero
            (16, &[3], |e| {
                matches!(
                    e,
                    F::Invalid {
                        what: "summary codec",
                        ..
                    }
                )
            }),
            // summary_codec = 9
            (16, &[9], |e| matches!(e, F::Invalid { what: "codec", .. })),
            // unknown flag bit
            (17, &[2], |e| {
                matches!(
                    e,
                    F::Reserved {
                        what: "footer flags"
                    }
                )
            }),
            // signed, but no signature offset
            (17, &[1], |e| {
                matches!(
                    e,
                    F::OutOfBounds {
                        what: "summary",
                        ..
                    }
                )
            }),
            // signature offset without the flag
            (24, &[1], |e| {
                matches!(
                    e,
                    F::Invalid {
                        what: "signature_offset",
                        ..
                    }
                )
            }),
        ];
        for (at, val, ok) in cases {
            let mut m = f.bytes.clone();
            let at = n - FOOTER_LEN + at;
            m[at..at + val.len()].copy_from_slice(val);
            fix_footer_crc(&mut m);
            let e = format_err(open(&m), "footer field");
            assert!(
                ok(&e),
                "footer byte {} = {val:?}: {e:?}",
                at + FOOTER_LEN - n
            );
        }
    }
}

mod frames {
    use super::*;

    fn positions(f: &FrameRef) -> [u64; 3] {
        let n = f.stored_len as u64;
        [f.offset, f.offset + n / 2, f.offset + n - 1]
    }

    #[test]
    fn every_flipped_summary_byte() {
        let f = rich();
        let l = layout(&f.bytes);
        for at in l.summary_offset..l.summary_offset + l.summary_len {
            let (what, detail) = integrity_err(open(&flip(&f.bytes, at, 0x04)), "summary");
            assert!(what.contains("summary"), "{what}");
            assert!(detail.contains("crc32c"), "{detail}");
        }
    }

    #[test]
    fn flipped_index_page() {
        let f = rich();
        let l = layout(&f.bytes);
        let pages = Surgery::new(&f.bytes).summary.index_pages;
        for (p, page) in pages.iter().enumerate() {
            let other = &pages[1 - p];
            for at in positions(&page.frame) {
                let m = flip(&f.bytes, at, 0x10);
                let a = open(&m).unwrap();
                let (what, _) = integrity_err(a.read_vec(page.first + 5, 100), "index page");
                assert!(what.contains("index page"), "{what}");
                // The other page still serves its blocks.
                let o = other.first as usize + 3;
                assert!(a.read_vec(o as u64, 5000).unwrap() == f.logical[o..o + 5000]);
                let r = verify(&a, &|_| {}).unwrap();
                assert!(
                    r.problems
                        .iter()
                        .any(|s| s.contains(&format!("index page {p}"))),
                    "{:?}",
                    r.problems
                );
            }
        }
        assert_eq!(
            l.blocks.len() as u64,
            Surgery::new(&f.bytes).summary.block_count
        );
    }

    #[test]
    fn flipped_entries_table() {
        let f = rich();
        let entries = Surgery::new(&f.bytes).summary.entries;
        for at in positions(&entries) {
            let a = open(&flip(&f.bytes, at, 0x20)).unwrap();
            let (what, _) = integrity_err(a.entries(), "entries");
            assert!(what.contains("entries table"), "{what}");
            integrity_err(a.entry("docs"), "entry lookup");
            // Data reads do not need the entries table.
            assert!(a.read_vec(0, 1000).unwrap() == f.logical[..1000]);
            let r = verify(&a, &|_| {}).unwrap();
            assert!(!r.is_ok());
            assert!(
                r.problems.iter().any(|s| s.contains("entries table")),
                "{:?}",
                r.problems
            );
        }
    }

    #[test]
    fn flipped_record_groups() {
        let f = rich();
        let groups = Surgery::new(&f.bytes).summary.record_groups;
        for at in positions(&groups) {
            let a = open(&flip(&f.bytes, at, 0x02)).unwrap();
            let (what, _) = integrity_err(a.record_groups(), "groups");
            assert!(what.contains("record groups"), "{what}");
            assert!(a.record(0).is_ok());
            assert!(!verify(&a, &|_| {}).unwrap().is_ok());
        }
    }

    #[test]
    fn flipped_record_page() {
        let f = rich();
        let s = Surgery::new(&f.bytes).summary;
        let per = s.records_per_page as u64;
        for (p, page) in s.record_pages.iter().enumerate() {
            for at in positions(&page.frame) {
                let a = open(&flip(&f.bytes, at, 0x40)).unwrap();
                let (what, _) = integrity_err(a.record(p as u64 * per + 1), "record page");
                assert!(what.contains("record page"), "{what}");
                let other = (1 - p as u64) * per + 2;
                assert!(a.record(other).is_ok(), "record page {} unaffected", 1 - p);
                let r = verify(&a, &|_| {}).unwrap();
                assert!(
                    r.problems
                        .iter()
                        .any(|s| s.contains(&format!("record page {p}"))),
                    "{:?}",
                    r.problems
                );
            }
        }
    }

    #[test]
    fn flipped_metadata() {
        let f = rich();
        let meta = Surgery::new(&f.bytes).summary.metadata;
        for at in positions(&meta) {
            let a = open(&flip(&f.bytes, at, 0x01)).unwrap();
            let (what, _) = integrity_err(a.metadata(), "metadata");
            assert!(what.contains("metadata"), "{what}");
            assert!(!verify(&a, &|_| {}).unwrap().is_ok());
        }
    }
}

mod blocks {
    use super::*;

    #[test]
    fn flipped_block_byte_fails_its_read() {
        let f = rich();
        let l = layout(&f.bytes);
        let stored = stored_blocks(&l);
        assert!(stored.len() > 20, "{} stored blocks", stored.len());
        let codecs: std::collections::HashSet<_> = stored.iter().map(|b| b.codec).collect();
        assert!(codecs.contains(&Codec::Lz4) && codecs.contains(&Codec::None));
        for b in stored.iter().step_by(2) {
            let n = b.stored_len as u64;
            for at in [
                b.stored_offset,
                b.stored_offset + n / 2,
                b.stored_offset + n - 1,
            ] {
                let m = flip(&f.bytes, at, 0x08);
                for verify_hashes in [false, true] {
                    let a = open_mem(
                        &m,
                        ReadOptions {
                            verify_hashes,
                            ..quiet_opts()
                        },
                    )
                    .unwrap();
                    // The error says which block, as data as well as in its message.
                    match a.read_vec(b.logical_offset, 10) {
                        Err(Error::Integrity { place, .. }) => assert!(
                            matches!(place.part, Part::Block { logical_offset, .. }
                                if logical_offset == b.logical_offset),
                            "{place:?}"
                        ),
                        other => panic!("block read: expected Error::Integrity, got {other:?}"),
                    }
                    let (what, detail) =
                        integrity_err(a.read_vec(b.logical_offset, 10), "block read");
                    assert!(
                        what.contains(&format!("logical offset {}", b.logical_offset)),
                        "{what}"
                    );
                    assert!(detail.contains("crc32c"), "{detail}");
                    // Every other logical block sharing these stored bytes fails too.
                    for other in l
                        .blocks
                        .iter()
                        .filter(|o| o.stored_offset == b.stored_offset)
                    {
                        integrity_err(a.read_vec(other.logical_offset, 1), "dedup copy");
                    }
                }
                let a = open(&m).unwrap();
                let r = verify(&a, &|_| {}).unwrap();
                let tag = format!("logical offset {})", b.logical_offset);
                assert!(
                    r.problems
                        .iter()
                        .any(|s| s.contains(&tag) && s.contains("crc32c mismatch")),
                    "{:?}",
                    r.problems
                );
            }
        }
    }

    /// crc32c is not a MAC: a block changed together with its crc reads back changed, but
    /// content hashes (verify, or `verify_hashes`) catch it.
    #[test]
    fn crc_fixed_block_change_is_caught_by_content_hashes() {
        let f = rich();
        let l = layout(&f.bytes);
        let b = *stored_blocks(&l)
            .iter()
            .find(|b| b.codec == Codec::None)
            .unwrap();
        let mut s = Surgery::new(&f.bytes);
        s.body[b.stored_offset as usize] ^= 0xFF;
        let stored = &s.body[b.stored_offset as usize..][..b.stored_len as usize];
        let crc = hexz_format::crc32c(stored);
        let page_no = s
            .summary
            .index_pages
            .iter()
            .rposition(|p| p.first <= b.logical_offset)
            .unwrap();
        let page = s.summary.index_pages[page_no];
        let mut raw = s.raw(&page.frame);
        let row = raw
            .chunks_exact(64)
            .position(|r| u64::from_le_bytes(r[..8].try_into().unwrap()) == b.logical_offset)
            .unwrap();
        raw[row * 64 + 28..row * 64 + 32].copy_from_slice(&crc.to_le_bytes());
        s.summary.index_pages[page_no].frame = s.append_frame(&raw);
        let m = s.finish();

        let a = open(&m).unwrap();
        let got = a.read_vec(b.logical_offset, 1).unwrap();
        assert_eq!(got[0], f.logical[b.logical_offset as usize] ^ 0xFF);
        let r = verify(&a, &|_| {}).unwrap();
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("content hash mismatch")),
            "{:?}",
            r.problems
        );
        let strict = open_mem(
            &m,
            ReadOptions {
                verify_hashes: true,
                ..quiet_opts()
            },
        )
        .unwrap();
        let (_, detail) = integrity_err(strict.read_vec(b.logical_offset, 1), "verify_hashes");
        assert!(detail.contains("content hash"), "{detail}");
    }
}

/// Sizes beyond the format's limits, written with valid checksums everywhere.
mod absurd_sizes {
    use super::*;

    fn rebuilt(edit: impl FnOnce(&mut Surgery)) -> Vec<u8> {
        let mut s = Surgery::new(&small().bytes);
        edit(&mut s);
        s.finish()
    }

    fn put(raw: &mut [u8], at: usize, v: &[u8]) {
        raw[at..at + v.len()].copy_from_slice(v);
    }

    /// Rewrites field `at` of block entry `row` of index page 0.
    fn index_edit(row: usize, at: usize, v: &[u8]) -> Vec<u8> {
        rebuilt(|s| {
            let mut raw = s.raw(&s.summary.index_pages[0].frame);
            put(&mut raw, row * 64 + at, v);
            s.summary.index_pages[0].frame = s.append_frame(&raw);
        })
    }

    fn entries_edit(row: usize, at: usize, v: &[u8]) -> Vec<u8> {
        rebuilt(|s| {
            let mut raw = s.raw(&s.summary.entries);
            put(&mut raw, row * 48 + at, v);
            s.summary.entries = s.append_frame(&raw);
        })
    }

    fn groups_edit(row: usize, at: usize, v: &[u8]) -> Vec<u8> {
        rebuilt(|s| {
            let mut raw = s.raw(&s.summary.record_groups);
            put(&mut raw, row * 48 + at, v);
            s.summary.record_groups = s.append_frame(&raw);
        })
    }

    #[test]
    fn untouched_rewrite_is_valid() {
        let f = small();
        let m = rebuilt(|_| {});
        assert_ne!(m, f.bytes, "rewritten with uncompressed frames");
        let o = exercise(&m);
        assert!(o.verified && !o.detected, "{:?}", o.first_error);
        assert!(o.logical.as_deref() == Some(&f.logical[..]));
    }

    #[test]
    fn block_raw_len() {
        for v in [1u32 << 30, u32::MAX, (16 << 20) + 1, 0] {
            let a = open(&index_edit(0, 20, &v.to_le_bytes())).unwrap();
            let e = format_err(a.read_vec(0, 10), "raw_len");
            assert!(
                matches!(e, F::Limit { what: "block raw_len", value, .. } if value == v as u64),
                "{v}: {e:?}"
            );
        }
    }

    #[test]
    fn block_stored_len_and_offset() {
        let a = open(&index_edit(0, 16, &u32::MAX.to_le_bytes())).unwrap();
        let e = format_err(a.read_vec(0, 10), "stored_len");
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "block stored_len",
                    ..
                }
            ),
            "{e:?}"
        );

        for off in [u64::MAX - 10, 1 << 40, 0, 127] {
            let a = open(&index_edit(0, 8, &off.to_le_bytes())).unwrap();
            let e = format_err(a.read_vec(0, 10), "stored_offset");
            assert!(
                matches!(e, F::OutOfBounds { what: "block", .. }),
                "{off}: {e:?}"
            );
        }
    }

    #[test]
    fn block_logical_offset() {
        let a = open(&index_edit(0, 0, &(1u64 << 63).to_le_bytes())).unwrap();
        let e = format_err(a.read_vec(0, 10), "logical_offset");
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "block logical end",
                    ..
                }
            ),
            "{e:?}"
        );
        let a = open(&index_edit(1, 0, &7u64.to_le_bytes())).unwrap();
        let e = format_err(a.read_vec(0, 10), "overlap");
        assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
    }

    #[test]
    fn summary_counts() {
        let f = |edit: fn(&mut hexz_format::Summary)| {
            format_err(open(&rebuilt(|s| edit(&mut s.summary))), "summary")
        };
        let e = f(|s| s.logical_size = u64::MAX);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "logical_size",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.entries_per_page = 1 << 20);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "rows per page",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.block_count = 1 << 40);
        assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
        let e = f(|s| s.records_per_page = u32::MAX);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "rows per page",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.parent_count = 1000);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "parent_count",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.record_count = 1 << 60);
        assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
    }

    #[test]
    fn summary_frame_refs() {
        let f = |edit: fn(&mut hexz_format::Summary)| {
            format_err(open(&rebuilt(|s| edit(&mut s.summary))), "frame ref")
        };
        let e = f(|s| s.entries.raw_len = u32::MAX);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "entries table",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.metadata.raw_len = (1 << 30) + 1);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "metadata",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.index_pages[0].frame.raw_len = 1 << 30);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "index page",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.record_pages[0].frame.raw_len = u32::MAX);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "record page",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.entries.stored_len = u32::MAX);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "frame stored_len",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.record_groups.offset = u64::MAX - 3);
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "record groups table",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.index_pages[0].frame.offset = 5);
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "index page",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = f(|s| s.metadata.codec = 3);
        assert!(
            matches!(
                e,
                F::Invalid {
                    what: "frame codec",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn footer_summary_sizes() {
        let f = small();
        let n = f.bytes.len();
        let mut m = f.bytes.clone();
        m[n - 52..n - 48].copy_from_slice(&u32::MAX.to_le_bytes());
        fix_footer_crc(&mut m);
        let e = format_err(open(&m), "summary raw_len");
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "summary raw_len",
                    ..
                }
            ),
            "{e:?}"
        );

        let mut m = f.bytes.clone();
        m[n - 56..n - 52].copy_from_slice(&u32::MAX.to_le_bytes());
        fix_footer_crc(&mut m);
        let e = format_err(open(&m), "summary stored_len");
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "summary",
                    ..
                }
            ),
            "{e:?}"
        );

        let mut m = f.bytes.clone();
        m[n - 64..n - 56].copy_from_slice(&u64::MAX.to_le_bytes());
        fix_footer_crc(&mut m);
        let e = format_err(open(&m), "summary offset");
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "summary",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn entries_table_fields() {
        // Rows are sorted: 0 "a" (records have no entry), ... find "d/text" by reading.
        let a = open(&small().bytes).unwrap();
        let row = a
            .entries()
            .unwrap()
            .iter()
            .position(|e| e.path == "d/text")
            .unwrap();
        let get = |m: Vec<u8>| format_err(open(&m).unwrap().entries(), "entries");
        let e = get(entries_edit(row, 24, &u64::MAX.to_le_bytes()));
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "entry data",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 16, &(u64::MAX - 2).to_le_bytes()));
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "entry data",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 36, &(1u32 << 20).to_le_bytes()));
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "path length",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 32, &u32::MAX.to_le_bytes()));
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "entry path",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 44, &(5000u32).to_le_bytes()));
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "symlink target length",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 0, &[7]));
        assert!(
            matches!(
                e,
                F::Invalid {
                    what: "entry kind",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 4, &0o10000u32.to_le_bytes()));
        assert!(
            matches!(
                e,
                F::Invalid {
                    what: "entry mode",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(entries_edit(row, 1, &[1]));
        assert!(matches!(e, F::Reserved { what: "entry" }), "{e:?}");
        let e = format_err(
            open(&rebuilt(|s| s.summary.entry_count = 1 << 40))
                .unwrap()
                .entries(),
            "entry_count",
        );
        assert!(
            matches!(
                e,
                F::Truncated {
                    what: "entries table",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn entry_path_rules() {
        // Overwrite the heap bytes of the first path with "..": a path escaping the tree.
        let m = rebuilt(|s| {
            let mut raw = s.raw(&s.summary.entries);
            let count = s.summary.entry_count as usize;
            let po = u32::from_le_bytes(raw[32..36].try_into().unwrap()) as usize;
            let pl = u32::from_le_bytes(raw[36..40].try_into().unwrap()) as usize;
            assert_eq!(pl, 1, "first entry is \"d\"");
            raw[count * 48 + po] = b'/';
            s.summary.entries = s.append_frame(&raw);
        });
        let e = format_err(open(&m).unwrap().entries(), "path");
        assert!(matches!(e, F::BadPath { .. }), "{e:?}");
    }

    #[test]
    fn record_fields() {
        let m = rebuilt(|s| {
            let mut raw = s.raw(&s.summary.record_pages[0].frame);
            put(&mut raw, 16 + 8, &(1u64 << 62).to_le_bytes());
            s.summary.record_pages[0].frame = s.append_frame(&raw);
        });
        let a = open(&m).unwrap();
        let e = format_err(a.record(1), "record length");
        assert!(matches!(e, F::OutOfBounds { what: "record", .. }), "{e:?}");
    }

    #[test]
    fn record_group_fields() {
        let get = |m: Vec<u8>| format_err(open(&m).unwrap().record_groups(), "groups");
        let e = get(groups_edit(0, 28, &[200]));
        assert!(matches!(e, F::Limit { what: "ndim", .. }), "{e:?}");
        let e = get(groups_edit(0, 20, &(1u32 << 20).to_le_bytes()));
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "group name length",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(groups_edit(0, 24, &u32::MAX.to_le_bytes()));
        assert!(
            matches!(
                e,
                F::OutOfBounds {
                    what: "group dims",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = get(groups_edit(0, 29, &[16]));
        assert!(matches!(e, F::Invalid { what: "dtype", .. }), "{e:?}");
        let e = get(groups_edit(0, 8, &u64::MAX.to_le_bytes()));
        assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
        // A shape whose sample size overflows u64.
        let m = rebuilt(|s| {
            let mut raw = s.raw(&s.summary.record_groups);
            let dims = u32::from_le_bytes(raw[24..28].try_into().unwrap()) as usize;
            let heap = s.summary.record_group_count as usize * 48;
            put(&mut raw, heap + dims, &u64::MAX.to_le_bytes());
            s.summary.record_groups = s.append_frame(&raw);
        });
        let e = get(m);
        assert!(
            matches!(
                e,
                F::Limit {
                    what: "sample size",
                    ..
                }
            ),
            "{e:?}"
        );
    }
}

/// Every byte of a small archive flipped in turn: open, full read, tables and verify either
/// fail or return exactly the original content. Every byte is covered by a checksum, so every
/// flip must in fact be detected.
mod every_byte {
    use super::*;

    #[test]
    fn flipped_bytes_are_detected_never_misread() {
        let f = small();
        let orig = exercise(&f.bytes);
        assert!(orig.verified && !orig.detected, "{:?}", orig.first_error);
        assert!(orig.logical.as_deref() == Some(&f.logical[..]));
        let mut undetected = Vec::new();
        for i in 0..f.bytes.len() {
            let mask = [0x01u8, 0x80, 0xFF, 0x10][i % 4];
            let o = exercise(&flip(&f.bytes, i as u64, mask));
            if !o.detected {
                assert!(o.logical == orig.logical, "byte {i}: wrong logical bytes");
                assert!(o.entries == orig.entries, "byte {i}: wrong entries");
                assert!(o.metadata == orig.metadata, "byte {i}: wrong metadata");
                assert!(o.records == orig.records, "byte {i}: wrong records");
                undetected.push(i);
            }
        }
        assert!(undetected.is_empty(), "undetected flips at {undetected:?}");
    }
}

/// What CI runs of the fuzz target: about 20,000 seeded mutations of a small archive through
/// the same `open_read` logic as `fuzz/fuzz_targets/open_read.rs`.
mod mutations {
    use super::*;

    const INTERESTING: [u64; 16] = [
        0,
        1,
        2,
        0x7F,
        0x80,
        0xFF,
        0x100,
        0xFFFF,
        0x1_0000,
        0x7FFF_FFFF,
        0xFFFF_FFFF,
        1 << 32,
        1 << 40,
        1 << 62,
        1 << 63,
        u64::MAX,
    ];

    fn mutate_bytes(rng: &mut Rng, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            buf.push(rng.next_u64() as u8);
            return;
        }
        match rng.below(6) {
            0 | 1 => {
                for _ in 0..rng.range(1, 4) {
                    let at = rng.below(buf.len() as u64) as usize;
                    buf[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                let width = [1usize, 2, 4, 8][rng.below(4) as usize];
                if buf.len() >= width {
                    let at = (rng.below((buf.len() - width + 1) as u64) as usize) & !(width - 1);
                    let v = INTERESTING[rng.below(16) as usize]
                        .wrapping_add(rng.below(3))
                        .wrapping_sub(1);
                    buf[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
                }
            }
            3 => {
                let at = rng.below(buf.len() as u64) as usize;
                buf.truncate(at);
            }
            4 => {
                let at = rng.below(buf.len() as u64 + 1) as usize;
                let n = rng.range(1, 64) as usize;
                let extra = rng.bytes(n);
                buf.splice(at..at, extra);
            }
            _ => {
                let at = rng.below(buf.len() as u64) as usize;
                let n = (rng.range(1, 64) as usize).min(buf.len() - at);
                buf.drain(at..at + n);
            }
        }
    }

    /// Mutates one structure and fixes every checksum and hash that covers it.
    fn mutate_structured(rng: &mut Rng, orig: &[u8]) -> Vec<u8> {
        let mut s = Surgery::new(orig);
        match rng.below(9) {
            0 => {
                let mut raw = s.summary.encode();
                mutate_bytes(rng, &mut raw);
                return s.finish_raw_summary(&raw);
            }
            1 => {
                let mut m = orig.to_vec();
                let mut h = m[..HEADER_LEN].to_vec();
                mutate_bytes(rng, &mut h);
                h.resize(HEADER_LEN, 0);
                m[..HEADER_LEN].copy_from_slice(&h);
                if rng.chance(4) {
                    m[..8].copy_from_slice(&hexz_format::header::MAGIC);
                }
                fix_header_crc(&mut m);
                return m;
            }
            2 => {
                let mut m = orig.to_vec();
                let n = m.len();
                let mut t = m[n - FOOTER_LEN..n - 8].to_vec();
                mutate_bytes(rng, &mut t);
                t.resize(FOOTER_LEN - 8, 0);
                m[n - FOOTER_LEN..n - 8].copy_from_slice(&t);
                fix_footer_crc(&mut m);
                return m;
            }
            3 => {
                let p = rng.below(s.summary.index_pages.len() as u64) as usize;
                let mut raw = s.raw(&s.summary.index_pages[p].frame);
                mutate_bytes(rng, &mut raw);
                s.summary.index_pages[p].frame = s.append_frame(&raw);
            }
            4 => {
                let mut raw = s.raw(&s.summary.entries);
                mutate_bytes(rng, &mut raw);
                s.summary.entries = s.append_frame(&raw);
            }
            5 => {
                let mut raw = s.raw(&s.summary.record_groups);
                mutate_bytes(rng, &mut raw);
                s.summary.record_groups = s.append_frame(&raw);
            }
            6 => {
                let mut raw = s.raw(&s.summary.record_pages[0].frame);
                mutate_bytes(rng, &mut raw);
                s.summary.record_pages[0].frame = s.append_frame(&raw);
            }
            7 => {
                let mut raw = s.raw(&s.summary.metadata);
                mutate_bytes(rng, &mut raw);
                s.summary.metadata = s.append_frame(&raw);
            }
            _ => {
                // Change a stored block and fix its crc in the index.
                let page = s.summary.index_pages[0];
                let mut raw = s.raw(&page.frame);
                let rows = raw.len() / 64;
                let row = rng.below(rows as u64) as usize;
                let e = BlockEntry::parse(&raw[row * 64..][..64], s.footer.summary_offset, false)
                    .unwrap();
                if e.stored_len > 0 {
                    let mut stored =
                        s.body[e.stored_offset as usize..][..e.stored_len as usize].to_vec();
                    mutate_bytes(rng, &mut stored);
                    let crc = hexz_format::crc32c(&stored);
                    let at = s.body.len() as u64;
                    s.body.extend_from_slice(&stored);
                    raw[row * 64 + 8..row * 64 + 16].copy_from_slice(&at.to_le_bytes());
                    raw[row * 64 + 16..row * 64 + 20]
                        .copy_from_slice(&(stored.len() as u32).to_le_bytes());
                    raw[row * 64 + 28..row * 64 + 32].copy_from_slice(&crc.to_le_bytes());
                }
                s.summary.index_pages[0].frame = s.append_frame(&raw);
            }
        }
        s.finish()
    }

    #[test]
    fn seeded_mutations_never_panic_or_misread() {
        let f = small();
        let orig = exercise(&f.bytes);
        assert!(orig.verified);
        // HEXZ_MUTATIONS / HEXZ_MUTATION_SEED run longer campaigns, e.g.
        // `HEXZ_MUTATIONS=2000000 cargo test --release -p hexz-core --test corruption mutations`.
        let env = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let iterations = env("HEXZ_MUTATIONS", 20_000);
        let started = std::time::Instant::now();
        let mut rng = Rng::new(env("HEXZ_MUTATION_SEED", 0x4845_585A));
        let (mut opened, mut verified) = (0u64, 0u64);
        for iter in 0..iterations {
            let structured = rng.chance(2);
            let m = if structured {
                mutate_structured(&mut rng, &f.bytes)
            } else {
                let mut m = f.bytes.clone();
                for _ in 0..rng.range(1, 3) {
                    mutate_bytes(&mut rng, &mut m);
                }
                m
            };
            let o = exercise(&m);
            opened += o.opened as u64;
            verified += o.verified as u64;
            if !structured && !o.detected && m != f.bytes {
                // Unchecksummed damage that nothing noticed must not change what is read.
                assert!(
                    o.logical == orig.logical,
                    "iteration {iter}: wrong logical bytes"
                );
                assert!(o.entries == orig.entries, "iteration {iter}: wrong entries");
                assert!(
                    o.metadata == orig.metadata,
                    "iteration {iter}: wrong metadata"
                );
                assert!(o.records == orig.records, "iteration {iter}: wrong records");
            }
        }
        eprintln!(
            "{iterations} mutations in {:?}: {opened} opened, {verified} verified clean",
            started.elapsed()
        );
        assert!(
            opened > iterations / 10,
            "mutations should often get past open ({opened})"
        );
    }

    /// Byte mutations of an encrypted archive, opened with its key: nothing panics, and every
    /// change is noticed (AES-GCM covers every block and frame, the summary's tag the header,
    /// and no byte lies outside them).
    #[test]
    fn seeded_mutations_of_an_encrypted_archive_are_all_detected() {
        use common::open_read::exercise_with;
        use hexz_core::{Encryption, KeySource};
        let raw = [0x42u8; 32];
        let bytes = build(
            WriteOptions {
                block_size: 4096,
                threads: 1,
                encryption: Some(Encryption::raw_key(raw)),
                ..Default::default()
            },
            |w| {
                w.add_bytes("d/text", &b"encrypted, mutated. ".repeat(400), M)?;
                w.add_bytes("noise", &Rng::new(5).bytes(3000), M)?;
                w.add_bytes("zeros", &[0; 4096], M)?;
                w.add_array("a", DType::U16, &[6, 2], &[7; 24])?;
                w.set_metadata(br#"{"m":1}"#)
            },
        )
        .unwrap();
        let key = || Some(KeySource::RawKey(raw));
        assert!(exercise_with(&bytes, key()).verified);
        let iterations = std::env::var("HEXZ_MUTATIONS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(3000, |n| n / 4);
        let mut rng = Rng::new(0x454E_4352);
        for iter in 0..iterations {
            let mut m = bytes.clone();
            for _ in 0..rng.range(1, 3) {
                mutate_bytes(&mut rng, &mut m);
            }
            let o = exercise_with(&m, key());
            assert!(
                o.detected || m == bytes,
                "iteration {iter}: a mutation of the encrypted archive went unnoticed"
            );
        }
    }
}

#[test]
fn fixtures_are_sane() {
    let r = rich();
    let a = open(&r.bytes).unwrap();
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
    let s = small();
    let o = exercise(&s.bytes);
    assert!(o.verified, "{:?}", o.first_error);
    assert!(mixed_data(1, 10).len() == 10);
}
