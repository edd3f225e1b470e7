//! Every encoder round-trips through its parser, every parser survives arbitrary bytes
//! (an error, never a panic), and the committed v1 fixtures parse to the recorded headers.
#![allow(clippy::unwrap_used)]

use hexz_format::entry::{encode_entries, parse_entries};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::page_directory::encode_frames;
use hexz_format::parent::{encode_parents, parse_parents};
use hexz_format::record::{encode_groups, encode_records, parse_groups, parse_record_page};
use hexz_format::{
    BlockEntry, Cipher, Codec, DType, Entry, EntryKind, Error, ExtensionRef, Footer, FrameRef,
    Header, Kdf, OptionalFeatures, PageDirectory, PageRef, PageSet, Parent, Record, RecordGroup,
    RequiredFeatures, Signature, Summary,
};
use proptest::prelude::*;

fn codec() -> impl Strategy<Value = Codec> {
    prop_oneof![
        Just(Codec::None),
        Just(Codec::Lz4),
        Just(Codec::Zstd),
        Just(Codec::Zero)
    ]
}

mod no_panic {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes(
            raw in prop::collection::vec(any::<u8>(), 0..700),
            n in any::<u64>(),
            n32 in any::<u32>(),
            bound in any::<u64>(),
            encrypted in any::<bool>(),
        ) {
            let _ = Header::parse(&raw, RequiredFeatures::KNOWN);
            let _ = Header::parse(&raw, u64::MAX);
            let _ = Footer::parse(&raw, bound);
            let _ = Footer::parse(&raw, raw.len() as u64);
            let _ = Summary::parse(&raw, bound, encrypted, 1);
            let _ = Summary::parse(&raw, bound, encrypted, 2);
            let _ = BlockEntry::parse_page(&raw, n, bound, encrypted);
            let _ = BlockEntry::parse(&raw, bound, encrypted);
            let _ = parse_entries(&raw, n % 64, bound, 2);
            let _ = parse_entries(&raw, n, bound, 1);
            let _ = parse_groups(&raw, n32 % 16, n);
            let _ = parse_groups(&raw, n32, n);
            let _ = parse_record_page(&raw, bound);
            let _ = parse_parents(&raw, n32 % 8);
            let _ = parse_parents(&raw, n32);
            let _ = Signature::parse(&raw, 1);
            let _ = Signature::parse(&raw, 2);
        }

        /// Valid-looking prefixes: a correct magic and version, then noise.
        #[test]
        fn headers_and_footers_with_magic(mut raw in prop::collection::vec(any::<u8>(), 128..129), len in 64u64..1_000_000) {
            raw[..8].copy_from_slice(&hexz_format::header::MAGIC);
            raw[8..12].copy_from_slice(&[1, 0, 128, 0]);
            let crc = hexz_format::crc32c(&raw[..124]);
            raw[124..128].copy_from_slice(&crc.to_le_bytes());
            let _ = Header::parse(&raw, RequiredFeatures::KNOWN);
            let mut f = raw[..64].to_vec();
            f[48..52].copy_from_slice(&[1, 0, 64, 0]);
            let crc = hexz_format::crc32c(&f[..52]);
            f[52..56].copy_from_slice(&crc.to_le_bytes());
            f[56..64].copy_from_slice(&hexz_format::footer::FOOTER_MAGIC);
            let _ = Footer::parse(&f, len);
        }
    }
}

mod round_trip {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn header(
            shift in 12u32..=24,
            zstd in any::<bool>(),
            optional in any::<u64>(),
            archive_id in any::<[u8; 16]>(),
        ) {
            let h = Header {
                version: hexz_format::VERSION,
                block_size: 1 << shift,
                required: RequiredFeatures(if zstd { RequiredFeatures::ZSTD } else { 0 }),
                optional: OptionalFeatures(optional),
                archive_id,
                cipher: Cipher::None,
                kdf: Kdf::None,
                key_check: [0; 16],
            };
            let b = h.encode();
            prop_assert_eq!(b.len(), HEADER_LEN);
            prop_assert_eq!(Header::parse(&b, RequiredFeatures::KNOWN), Ok(h));
            // Nothing after the 128 bytes matters.
            let mut longer = b.to_vec();
            longer.extend_from_slice(&[0xEE; 10]);
            prop_assert!(Header::parse(&longer, RequiredFeatures::KNOWN).is_ok());
            prop_assert!(matches!(
                Header::parse(&b[..HEADER_LEN - 1], RequiredFeatures::KNOWN),
                Err(Error::Truncated { .. })
            ), "unexpected result");
        }

        #[test]
        fn encrypted_header(salt in any::<[u8; 16]>(), key_check in any::<[u8; 16]>(), m in 1u32..1 << 20) {
            let h = Header {
                version: hexz_format::VERSION,
                block_size: 65536,
                required: RequiredFeatures(RequiredFeatures::ENCRYPTED),
                optional: OptionalFeatures(0),
                archive_id: [1; 16],
                cipher: Cipher::Aes256Gcm,
                kdf: Kdf::Argon2id { m_cost: m, t_cost: 3, parallelism: 4, salt },
                key_check,
            };
            prop_assert_eq!(Header::parse(&h.encode(), RequiredFeatures::KNOWN), Ok(h.clone()));
            prop_assert_eq!(
                Header::parse(&h.encode(), 0),
                Err(Error::UnknownFeature { bit: 0 })
            );
        }

        #[test]
        fn footer(
            summary_offset in 128u64..1 << 40,
            stored in 0u32..1 << 20,
            raw in 0u32..1 << 20,
            lz4 in any::<bool>(),
            crc in any::<u32>(),
            signed in any::<bool>(),
        ) {
            let tail = FOOTER_LEN as u64 + if signed { 144 } else { 0 };
            let file_len = summary_offset + stored as u64 + tail;
            for version in [1, 2] {
                let f = Footer {
                    version,
                    summary_offset,
                    summary_stored_len: stored,
                    summary_raw_len: raw,
                    summary_codec: if lz4 { Codec::Lz4 } else { Codec::None },
                    summary_crc: crc,
                    signature_offset: signed.then_some(file_len - tail),
                };
                let b = f.encode();
                prop_assert_eq!(Footer::parse(&b, file_len), Ok(f));
                // The footer is the last 64 bytes of whatever is passed.
                let mut tail_read = vec![7u8; 100];
                tail_read.extend_from_slice(&b);
                prop_assert_eq!(Footer::parse(&tail_read, file_len), Ok(f));
                // One byte more: the summary no longer ends where the tail begins (a v2
                // signature block says its own length, so there the block's check catches it).
                if version == 1 || !signed {
                    prop_assert!(matches!(
                        Footer::parse(&b, file_len + 1),
                        Err(Error::OutOfBounds { what: "summary", .. })
                    ), "unexpected result");
                }
            }
        }

        #[test]
        fn index_page(
            first in 0u64..1 << 50,
            blocks in prop::collection::vec((1u32..=16 << 20, codec(), any::<[u8; 32]>(), any::<u32>()), 1..60),
        ) {
            let data_end = 1u64 << 40;
            let mut logical = first;
            // Stored back to back: ranges may not overlap in part (§7.1).
            let mut stored = 128u64;
            let mut entries = Vec::new();
            for (raw_len, codec, hash, crc) in blocks {
                let (stored_offset, stored_len, crc) = match codec {
                    Codec::Zero => (0, 0, 0),
                    Codec::None => (stored, raw_len, crc),
                    _ => (stored, raw_len / 2 + 1, crc),
                };
                stored += stored_len as u64;
                entries.push(BlockEntry {
                    logical_offset: logical,
                    stored_offset,
                    stored_len,
                    raw_len,
                    codec,
                    parent: None,
                    crc,
                    hash,
                });
                logical += raw_len as u64;
            }
            let mut raw = Vec::new();
            for e in &entries {
                e.put(&mut raw);
            }
            prop_assert_eq!(raw.len(), entries.len() * 64);
            prop_assert_eq!(BlockEntry::parse_page(&raw, first, data_end, false), Ok(entries.clone()));
            // Starting anywhere else breaks contiguity.
            prop_assert!(matches!(
                BlockEntry::parse_page(&raw, first + 1, data_end, false),
                Err(Error::Inconsistent(_))
            ), "unexpected result");
            prop_assert!(matches!(
                BlockEntry::parse_page(&raw[..raw.len() - 1], first, data_end, false),
                Err(Error::Invalid { what: "index page length", .. })
            ), "unexpected result");
        }

        #[test]
        fn entries_table(
            names in prop::collection::btree_set("[a-z0-9 ._-]{1,12}(/[a-z0-9._-]{1,8}){0,3}", 1..40),
            seed in any::<u64>(),
        ) {
            // Drop names with "." or ".." components; the rest are valid relative paths.
            let paths: Vec<String> = names
                .into_iter()
                .filter(|p| p.split('/').all(|c| c != "." && c != ".."))
                .collect();
            let logical = 1u64 << 40;
            let entries: Vec<Entry> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let k = (seed >> (i % 60)) & 3;
                    let kind = [EntryKind::File, EntryKind::Dir, EntryKind::Symlink, EntryKind::Stream][k as usize];
                    let data = matches!(kind, EntryKind::File | EntryKind::Stream);
                    Entry {
                        path: p.clone(),
                        kind,
                        mode: (seed as u32 ^ i as u32) & 0o7777,
                        mtime_ns: (seed as i64).wrapping_mul(i as i64 + 1),
                        data_offset: if data { i as u64 * 1000 } else { 0 },
                        size: if data { seed % 5000 } else { 0 },
                        target: (kind == EntryKind::Symlink).then(|| format!("../t{i}")),
                    }
                })
                .collect();
            let raw = encode_entries(&entries);
            prop_assert_eq!(parse_entries(&raw, entries.len() as u64, logical, 2), Ok(entries.clone()));
            if !entries.is_empty() {
                prop_assert!(parse_entries(&raw, entries.len() as u64 + 1, logical, 2).is_err());
            }
        }

        #[test]
        fn records_and_groups(
            groups in prop::collection::vec((0u8..16, prop::collection::vec(0u64..100, 0..5), 0u64..50, "[a-z]{0,10}"), 1..8),
            records in prop::collection::vec((0u64..1 << 40, 0u64..1 << 20), 0..100),
        ) {
            let mut first = 0;
            let gs: Vec<RecordGroup> = groups
                .into_iter()
                .map(|(d, shape, n, name)| {
                    let dtype = DType::from_id(d).unwrap();
                    let g = RecordGroup {
                        first_record: first,
                        record_count: n,
                        name,
                        dtype,
                        shape: if dtype == DType::Bytes { vec![] } else { shape },
                    };
                    first += n;
                    g
                })
                .collect();
            let raw = encode_groups(&gs);
            prop_assert_eq!(parse_groups(&raw, gs.len() as u32, first), Ok(gs.clone()));
            prop_assert!(matches!(
                parse_groups(&raw, gs.len() as u32, first + 1),
                Err(Error::Inconsistent(_))
            ), "unexpected result");
            let recs: Vec<Record> = records.into_iter().map(|(offset, length)| Record { offset, length }).collect();
            let raw = encode_records(&recs);
            prop_assert_eq!(parse_record_page(&raw, 1 << 41), Ok(recs.clone()));
            if let Some(max) = recs.iter().map(|r| r.offset + r.length).max() {
                if max > 0 {
                    prop_assert!(matches!(
                        parse_record_page(&raw, max - 1),
                        Err(Error::OutOfBounds { what: "record", .. })
                    ), "unexpected result");
                }
            }
        }

        #[test]
        fn parents_and_signature(
            parents in prop::collection::vec((any::<[u8; 16]>(), any::<[u8; 32]>(), "[ -~]{0,40}"), 0..6),
            key in any::<[u8; 32]>(),
            root in any::<[u8; 32]>(),
            sig in prop::collection::vec(any::<u8>(), 64..65),
        ) {
            let ps: Vec<Parent> = parents
                .into_iter()
                .map(|(archive_id, root_hash, path)| Parent { archive_id, root_hash, path })
                .collect();
            let raw = encode_parents(&ps);
            prop_assert_eq!(parse_parents(&raw, ps.len() as u32), Ok(ps.clone()));
            let mut longer = raw.clone();
            longer.push(0);
            prop_assert!(matches!(parse_parents(&longer, ps.len() as u32), Err(Error::Inconsistent(_))), "unexpected result");
            let s = Signature { public_key: key, root_hash: root, signature: sig.try_into().unwrap() };
            for v in [1, 2] {
                prop_assert_eq!(Signature::parse(&s.encode(v), v), Ok(Some(s.clone())));
            }
        }

        #[test]
        fn summary(
            blocks in 0u64..300_000,
            per_shift in 0u32..=16,
            records in 0u64..20_000,
            rec_shift in 0u32..=16,
            with_entries in any::<bool>(),
            with_meta in any::<bool>(),
            dir_shift in 0u32..=3,
        ) {
            let data_end = 1u64 << 40;
            let frame = |i: u64, raw_len: u32| FrameRef {
                offset: 128 + i * 100,
                stored_len: raw_len / 3 + 1,
                raw_len,
                codec: 1,
                crc: i as u32,
                hash: [i as u8; 32],
            };
            let per = 1u64 << per_shift;
            let logical_size = blocks * 4096;
            let index_pages: Vec<PageRef> = (0..blocks.div_ceil(per))
                .map(|p| PageRef {
                    frame: frame(p, ((blocks - p * per).min(per) * 64) as u32),
                    first: p * per * 4096,
                })
                .collect();
            let rper = 1u64 << rec_shift;
            let record_pages: Vec<PageRef> = (0..records.div_ceil(rper))
                .map(|p| PageRef {
                    frame: frame(p + 7, ((records - p * rper).min(rper) * 16) as u32),
                    first: p * rper,
                })
                .collect();
            let s = Summary {
                logical_size,
                block_count: blocks,
                entries_per_page: if blocks > 0 { per as u32 } else { 0 },
                entry_count: with_entries as u64 * 3,
                record_count: records,
                records_per_page: if records > 0 { rper as u32 } else { 0 },
                record_group_count: (records > 0) as u32,
                parent_count: 0,
                stored_data_bytes: blocks * 1000,
                entries: if with_entries { frame(1, 500) } else { FrameRef::default() },
                metadata: if with_meta { frame(2, 30) } else { FrameRef::default() },
                record_groups: if records > 0 { frame(3, 60) } else { FrameRef::default() },
                parents: FrameRef::default(),
                index_page_count: index_pages.len() as u32,
                record_page_count: record_pages.len() as u32,
                index_pages,
                record_pages,
                extensions: Vec::new(),
            };
            let mut v2 = s.clone();
            v2.extensions = vec![
                ExtensionRef { kind: 1, critical: false, frame: frame(5, 70) },
                ExtensionRef { kind: 9, critical: false, frame: frame(6, 80) },
            ];
            for (version, s) in [(1, &s), (2, &s), (2, &v2)] {
                let raw = s.encode(version);
                prop_assert_eq!(Summary::parse(&raw, data_end, false, version), Ok(s.clone()));
                prop_assert!(Summary::parse(&raw[..raw.len() - 1], data_end, false, version).is_err());
                if blocks > 0 {
                    // Frames must lie before the summary.
                    prop_assert!(matches!(
                        Summary::parse(&raw, 200, false, version),
                        Err(Error::OutOfBounds { .. })
                    ), "unexpected result");
                }
            }
            // A v1 summary read as v2 (or the reverse) has the wrong length.
            prop_assert!(Summary::parse(&s.encode(1), data_end, false, 2).is_err());
            prop_assert!(Summary::parse(&v2.encode(2), data_end, false, 1).is_err());
            // An unknown critical extension is refused before the rest is judged (§7.5).
            let mut unknown = v2.clone();
            unknown.extensions[1].critical = true;
            prop_assert_eq!(
                Summary::parse(&unknown.encode(2), data_end, false, 2),
                Err(Error::UnknownCriticalExtension { kind: 9 })
            );
            // Behind a page directory (§7.8) the summary holds no PageRefs; the directory
            // and its frames give back every one.
            let per = 1u32 << dir_shift;
            let mut sets = Vec::new();
            for (n, pages) in [&s.index_pages, &s.record_pages].into_iter().enumerate() {
                let frames = encode_frames(pages, per);
                let refs: Vec<PageRef> = frames
                    .iter()
                    .enumerate()
                    .map(|(d, (raw, first))| PageRef {
                        frame: frame(20 + 2 * d as u64 + n as u64, raw.len() as u32),
                        first: *first,
                    })
                    .collect();
                sets.push((frames, refs));
            }
            let dir = PageDirectory {
                pages_per_directory: per,
                index: sets[0].1.clone(),
                records: sets[1].1.clone(),
            };
            let mut paged = s.clone();
            paged.index_pages.clear();
            paged.record_pages.clear();
            paged.extensions = vec![ExtensionRef { kind: 3, critical: true, frame: frame(9, 90) }];
            prop_assert_eq!(Summary::parse(&paged.encode(2), data_end, false, 2), Ok(paged.clone()));
            let parsed = PageDirectory::parse(&dir.encode(), &paged, data_end, false);
            prop_assert_eq!(parsed.as_ref(), Ok(&dir));
            for (set, (frames, _), pages) in [
                (PageSet::Index, &sets[0], &s.index_pages),
                (PageSet::Records, &sets[1], &s.record_pages),
            ] {
                let mut all = Vec::new();
                for (d, (raw, _)) in frames.iter().enumerate() {
                    all.extend(dir.parse_frame(raw, set, d, &paged, data_end, false).unwrap());
                    // A frame read as its neighbour does not start where the directory says.
                    if frames.len() > 1 {
                        let other = &frames[(d + 1) % frames.len()].0;
                        prop_assert!(dir.parse_frame(other, set, d, &paged, data_end, false).is_err());
                    }
                }
                prop_assert_eq!(&all, pages);
            }
        }
    }
}

/// The committed fixtures (`tests/fixtures/v1`), read with the format crate alone.
mod golden {
    use super::*;
    use std::path::Path;

    fn fixture(name: &str) -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/v1")
            .join(name);
        std::fs::read(&p).unwrap()
    }

    fn header(name: &str) -> Result<Header, Error> {
        Header::parse(&fixture(name)[..HEADER_LEN], RequiredFeatures::KNOWN)
    }

    fn footer(name: &str) -> Result<Footer, Error> {
        let b = fixture(name);
        Footer::parse(&b[b.len() - FOOTER_LEN..], b.len() as u64)
    }

    #[test]
    fn headers() {
        for (name, id, block_size, required) in [
            ("tree-lz4.hxz", *b"hexz-golden-tree", 4096, 0),
            (
                "raw-zstd.hxz",
                *b"hexz-golden-raw.",
                16384,
                RequiredFeatures::ZSTD,
            ),
            ("records.hxz", *b"hexz-golden-recs", 4096, 0),
        ] {
            let h = header(name).unwrap();
            assert_eq!(
                h,
                Header {
                    version: 1,
                    block_size,
                    required: RequiredFeatures(required),
                    optional: OptionalFeatures(OptionalFeatures::DEDUP),
                    archive_id: id,
                    cipher: Cipher::None,
                    kdf: Kdf::None,
                    key_check: [0; 16],
                },
                "{name}"
            );
            let b = fixture(name);
            assert_eq!(
                &b[..HEADER_LEN],
                &h.encode()[..],
                "{name}: header re-encodes byte for byte"
            );
            let f = footer(name).unwrap();
            assert_eq!(f.signature_offset, None);
            assert_eq!(
                f.summary_offset + f.summary_stored_len as u64 + FOOTER_LEN as u64,
                b.len() as u64
            );
            let stored = &b[f.summary_offset as usize..][..f.summary_stored_len as usize];
            assert_eq!(
                hexz_format::crc32c(stored),
                f.summary_crc,
                "{name}: summary crc"
            );
            assert_eq!(
                &b[b.len() - FOOTER_LEN..],
                &f.encode()[..],
                "{name}: footer re-encodes"
            );
        }
    }

    #[test]
    fn corrupt_fixtures() {
        assert_eq!(
            footer("corrupt-truncated.hxz"),
            Err(Error::BadMagic { what: "footer" })
        );
        assert!(matches!(
            footer("corrupt-footer-crc.hxz"),
            Err(Error::Checksum { what: "footer", .. })
        ));
        // A v2 header on a v1 file: each parses; the reader refuses the pair (§16).
        assert_eq!(
            header("corrupt-future-version.hxz").map(|h| h.version),
            Ok(2)
        );
        assert_eq!(
            footer("corrupt-future-version.hxz").map(|f| f.version),
            Ok(1)
        );
        assert_eq!(
            footer("corrupt-footer-version.hxz"),
            Err(Error::UnsupportedVersion {
                found: 9,
                supported: 2
            })
        );
        assert_eq!(
            header("corrupt-unknown-feature.hxz"),
            Err(Error::UnknownFeature { bit: 5 })
        );
    }
}
