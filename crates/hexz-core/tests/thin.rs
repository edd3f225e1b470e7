//! Thin archives (`docs/FORMAT.md` §8): a child stores only the blocks its parent lacks and
//! reads the rest from it; the parent is found beside the child, or where the caller says,
//! and must be the archive the child was written against; chains and encryption work; damage
//! in a parent is caught.

#![allow(clippy::unwrap_used)]

mod common;

use hexz_core::verify::verify;
use hexz_core::{
    Archive, ArchiveWriter, CdcSizes, Chunking, EntryMeta, Error, ReadOptions, ThinParent,
    WriteOptions,
};
use hexz_testkit::Rng;
use std::path::Path;
use std::sync::Arc;

fn cdc() -> WriteOptions {
    WriteOptions {
        chunking: Chunking::Cdc(CdcSizes::around(16 << 10)),
        ..WriteOptions::default()
    }
}

fn write(path: &Path, opts: WriteOptions, data: &[u8]) -> hexz_core::WriteReport {
    let mut w = ArchiveWriter::create(path, opts).unwrap();
    w.add_bytes("data", data, EntryMeta::default()).unwrap();
    w.finish().unwrap()
}

fn thin_on(parent: &Path, location: &str, opts: ReadOptions) -> WriteOptions {
    WriteOptions {
        parent: Some(ThinParent {
            archive: Arc::new(Archive::open_with_options(parent, opts).unwrap()),
            location: location.into(),
        }),
        ..cdc()
    }
}

/// v1, and v2 = v1 with 1,000 bytes inserted and 200 changed.
fn versions() -> (Vec<u8>, Vec<u8>) {
    let v1 = Rng::new(1).bytes(4 << 20);
    let mut v2 = v1.clone();
    v2.splice(1 << 20..1 << 20, Rng::new(2).bytes(1000));
    v2[3 << 20..(3 << 20) + 200].copy_from_slice(&Rng::new(3).bytes(200));
    (v1, v2)
}

/// base.hxz (v1) and v2.hxz, thin on it, in `dir`; their paths and v2.
fn thin_pair(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let (v1, v2) = versions();
    let base = dir.join("base.hxz");
    write(&base, cdc(), &v1);
    let child = dir.join("v2.hxz");
    write(
        &child,
        thin_on(&base, "base.hxz", ReadOptions::default()),
        &v2,
    );
    (base, child, v2)
}

fn read_all(a: &Archive) -> Vec<u8> {
    a.read_vec(0, a.len() as usize).unwrap()
}

#[test]
fn a_child_stores_only_what_its_parent_lacks() {
    let d = tempfile::tempdir().unwrap();
    let (v1, v2) = versions();
    write(&d.path().join("base.hxz"), cdc(), &v1);
    let child = d.path().join("v2.hxz");
    let base = d.path().join("base.hxz");
    let report = write(
        &child,
        thin_on(&base, "base.hxz", ReadOptions::default()),
        &v2,
    );
    assert!(report.parent_blocks > 200, "{report:?}");
    let len = std::fs::metadata(&child).unwrap().len();
    assert!(len < 200 << 10, "the child holds {len} bytes");
    let a = Archive::open(&child).unwrap();
    assert!(a.header().required.has(hexz_format::RequiredFeatures::THIN));
    assert_eq!(read_all(&a), v2);
    let (row, location, parent) = a.parents().next().unwrap();
    assert_eq!(row.path, "base.hxz");
    assert_eq!(location, base.display().to_string());
    assert_eq!(parent.root_hash(), row.root_hash);
    let r = verify(&a, &|_| {}).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    // A random 4 KiB read of a parent-held block reads that one block of the parent (the
    // child's block is a whole block of the parent: same content, same cut).
    let fresh = Archive::open_with_options(
        &child,
        ReadOptions {
            readahead_threads: 0,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let (_, _, parent) = fresh.parents().next().unwrap();
    let mut buf = [0u8; 4096];
    fresh.read_exact_at(2 << 20, &mut buf).unwrap();
    assert_eq!(&buf[..], &v2[2 << 20..(2 << 20) + 4096]);
    assert_eq!(parent.stats().blocks_decoded, 1, "{:?}", parent.stats());
    assert_eq!(fresh.stats().bytes_decoded, parent.stats().bytes_decoded);
}

/// Reads at any offset and length, crossing blocks of the child and of the parent, whole or in
/// part, in one read or a batch, with hashes verified or not, return the child's bytes.
#[test]
fn reads_anywhere_return_the_childs_bytes() {
    let d = tempfile::tempdir().unwrap();
    let (_, child, v2) = thin_pair(d.path());
    for verify_hashes in [false, true] {
        let a = Archive::open_with_options(
            &child,
            ReadOptions {
                verify_hashes,
                readahead_threads: 0,
                ..ReadOptions::default()
            },
        )
        .unwrap();
        let mut rng = Rng::new(7);
        let mut ranges = Vec::new();
        for _ in 0..300 {
            let len = 1 + rng.below(200_000) as usize;
            let offset = rng.below((v2.len() - len) as u64);
            let got = a.read_vec(offset, len).unwrap();
            assert_eq!(
                got,
                &v2[offset as usize..offset as usize + len],
                "{offset}+{len}"
            );
            ranges.push((offset, len));
        }
        let mut out = vec![0u8; ranges.iter().map(|r| r.1).sum()];
        a.read_batch(&ranges, &mut out).unwrap();
        let want: Vec<u8> = ranges
            .iter()
            .flat_map(|&(o, l)| v2[o as usize..o as usize + l].iter().copied())
            .collect();
        assert!(out == want, "read_batch (verify_hashes {verify_hashes})");
        assert_eq!(read_all(&a), v2);
    }
}

#[test]
fn the_parent_is_found_where_the_caller_says_and_must_match() {
    let d = tempfile::tempdir().unwrap();
    let (base, child, v2) = thin_pair(d.path());

    // Moved: missing where the child says, found with parent_paths.
    let moved = d.path().join("elsewhere.hxz");
    std::fs::rename(&base, &moved).unwrap();
    let e = Archive::open(&child).err().unwrap();
    assert!(matches!(e, Error::ParentMissing(_)), "{e}");
    assert!(e.to_string().contains("--parent-path"), "{e}");
    let opts = ReadOptions {
        parent_paths: vec![moved.display().to_string()],
        ..ReadOptions::default()
    };
    assert_eq!(
        read_all(&Archive::open_with_options(&child, opts).unwrap()),
        v2
    );

    // Another archive in its place: refused, naming both ids.
    write(&base, cdc(), &v2);
    let e = Archive::open(&child).err().unwrap();
    assert!(matches!(e, Error::ParentMismatch(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("root hash") && msg.contains("base.hxz"),
        "{msg}"
    );
}

#[test]
fn a_chain_reads_through_every_level() {
    let d = tempfile::tempdir().unwrap();
    let (v1, v2) = versions();
    let mut v3 = v2.clone();
    v3.extend_from_slice(&Rng::new(9).bytes(100_000));
    let (p1, p2, p3) = (
        d.path().join("v1.hxz"),
        d.path().join("v2.hxz"),
        d.path().join("v3.hxz"),
    );
    write(&p1, cdc(), &v1);
    write(&p2, thin_on(&p1, "v1.hxz", ReadOptions::default()), &v2);
    let r3 = write(&p3, thin_on(&p2, "v2.hxz", ReadOptions::default()), &v3);
    assert!(r3.parent_blocks > 200);
    let a = Archive::open(&p3).unwrap();
    assert_eq!(read_all(&a), v3);
    let r = verify(&a, &|_| {}).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
}

#[test]
fn damage_in_the_parent_is_caught_through_the_child() {
    let d = tempfile::tempdir().unwrap();
    let (base, child, _) = thin_pair(d.path());
    // One byte of the parent's first block flipped (its stored bytes start at 128).
    let mut bytes = std::fs::read(&base).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(&base, &bytes).unwrap();
    let a = Archive::open(&child).unwrap();
    let e = a.read_vec(0, 4096).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    let r = verify(&a, &|_| {}).unwrap();
    assert!(
        r.problems.iter().any(|p| p.starts_with("parent ")),
        "{:?}",
        r.problems
    );
}

#[cfg(feature = "encryption")]
#[test]
fn encrypted_thin_archives_share_the_key() {
    use hexz_core::{Encryption, KeySource};
    let d = tempfile::tempdir().unwrap();
    let (v1, v2) = versions();
    let key = KeySource::RawKey([7u8; 32]);
    let enc = || WriteOptions {
        encryption: Some(Encryption::new(key.clone())),
        ..cdc()
    };
    let base = d.path().join("base.hxz");
    write(&base, enc(), &v1);
    let read = ReadOptions {
        key: Some(key.clone()),
        ..ReadOptions::default()
    };
    let child = d.path().join("v2.hxz");
    let opts = WriteOptions {
        encryption: Some(Encryption::new(key.clone())),
        ..thin_on(&base, "base.hxz", read.clone())
    };
    let report = write(&child, opts, &v2);
    assert!(report.parent_blocks > 200, "{report:?}");
    let a = Archive::open_with_options(&child, read).unwrap();
    assert_eq!(read_all(&a), v2);
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
    // Without the key, or with an unencrypted child, no.
    assert!(matches!(Archive::open(&child), Err(Error::KeyRequired(_))));
    let mixed = WriteOptions {
        parent: thin_on(
            &base,
            "base.hxz",
            ReadOptions {
                key: Some(key),
                ..Default::default()
            },
        )
        .parent,
        ..cdc()
    };
    let e = ArchiveWriter::create(d.path().join("mixed.hxz"), mixed)
        .err()
        .unwrap();
    assert!(e.to_string().contains("both be encrypted"), "{e}");
}

/// `copy_archive` (what `hexz flatten` runs) keeps every entry, attribute, hard link,
/// record and the metadata: the v2 fixtures with every kind of file metadata and with
/// records read back the same from their copies.
#[test]
fn a_copy_keeps_everything() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v2");
    for name in ["tree-attrs.hxz", "multi-page-zstd.hxz", "entry-pages.hxz"] {
        let src = Archive::open(fixtures.join(name)).unwrap();
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("copy.hxz");
        let mut w = ArchiveWriter::create(&out, WriteOptions::default()).unwrap();
        hexz_core::copy::copy_archive(&src, &mut w).unwrap();
        w.finish().unwrap();
        let copy = Archive::open(&out).unwrap();
        let (a, b) = (src.entries().unwrap(), copy.entries().unwrap());
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(b.iter()) {
            let key = |e: &hexz_format::Entry| {
                (
                    e.path.clone(),
                    e.kind,
                    e.mode,
                    e.mtime_ns,
                    e.size,
                    e.target.clone(),
                )
            };
            assert_eq!(key(x), key(y), "{name}");
            let mut bx = vec![0u8; x.size as usize];
            let mut by = vec![0u8; y.size as usize];
            src.read_entry_at(x, 0, &mut bx).unwrap();
            copy.read_entry_at(y, 0, &mut by).unwrap();
            assert!(bx == by, "{name}: {}", x.path);
        }
        assert_eq!(
            src.file_attrs().unwrap(),
            copy.file_attrs().unwrap(),
            "{name}"
        );
        assert_eq!(
            src.record_groups().unwrap(),
            copy.record_groups().unwrap(),
            "{name}"
        );
        for i in 0..src.record_count() {
            let (r, s) = (src.record(i).unwrap(), copy.record(i).unwrap());
            assert_eq!(
                src.read_vec(r.offset, r.length as usize).unwrap(),
                copy.read_vec(s.offset, s.length as usize).unwrap()
            );
        }
        assert_eq!(src.metadata().unwrap(), copy.metadata().unwrap(), "{name}");
    }
}

/// The root hash, and so a signature, covers the parents table: the same contents written on
/// another parent have another root hash, and a signed thin archive opens with its key.
#[cfg(feature = "signing")]
#[test]
fn a_signature_pins_the_parent() {
    use hexz_core::sign::SigningKey;
    let d = tempfile::tempdir().unwrap();
    let (v1, v2) = versions();
    let (a, b) = (d.path().join("a.hxz"), d.path().join("b.hxz"));
    write(&a, cdc(), &v1);
    write(&b, cdc(), &v1); // same contents, another archive (id, root hash)
    let key = Arc::new(SigningKey::from_seed(&[9; 32]));
    let child = |parent: &Path, name: &str| {
        let opts = WriteOptions {
            archive_id: Some(*b"hexz-thin-signed"),
            signing_key: Some(key.clone()),
            ..thin_on(
                parent,
                parent.file_name().unwrap().to_str().unwrap(),
                ReadOptions::default(),
            )
        };
        let path = d.path().join(name);
        write(&path, opts, &v2);
        path
    };
    let (on_a, on_b) = (child(&a, "on-a.hxz"), child(&b, "on-b.hxz"));
    let root = |p: &Path| Archive::open(p).unwrap().root_hash();
    assert_ne!(root(&on_a), root(&on_b));
    let opts = ReadOptions {
        verify_key: Some(key.verifying_key()),
        ..ReadOptions::default()
    };
    let signed = Archive::open_with_options(&on_a, opts).unwrap();
    assert_eq!(read_all(&signed), v2);
}

/// A crafted `PARENT` entry pointing past the parent's end (offsets near 2^64 included) is
/// refused when read, naming the block; nothing panics or wraps.
#[test]
fn a_parent_block_past_the_parents_end_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (_, child, _) = thin_pair(d.path());
    for bad in [u64::MAX - 5, 1 << 40] {
        let mut s = common::Surgery::new(&std::fs::read(&child).unwrap());
        let page = s.summary.index_pages[0];
        let mut raw = s.raw(&page.frame);
        // The first PARENT row (flags byte 25, bit 0): its stored_offset, the parent's offset.
        let row = raw.chunks_exact(64).position(|r| r[25] & 1 == 1).unwrap();
        raw[row * 64 + 8..row * 64 + 16].copy_from_slice(&bad.to_le_bytes());
        s.summary.index_pages[0].frame = s.append_frame(&raw);
        let crafted = d.path().join("crafted.hxz");
        std::fs::write(&crafted, s.finish()).unwrap();
        let a = Archive::open(&crafted).unwrap();
        let e = a.read_vec(0, a.len() as usize).unwrap_err();
        assert!(e.to_string().contains("past the parent's end"), "{e}");
    }
}
