//! Tampering: every flipped byte, header changes with a valid crc, swapped, moved and
//! replayed blocks, forged crcs caught by AES-GCM, truncation, and verify's report of a
//! corrupt encrypted block.

use crate::common::{build, fix_header_crc, open_mem, verify_clean};
use crate::util::{raw_key, raw_opts, KEY, SECRET_TEXT};
use hexz_core::verify::verify;
use hexz_core::{Compression, DType, EntryKind, EntryMeta, Error, Part, ReadOptions};
use hexz_format::Codec;
use hexz_testkit::Rng;

/// Opens `bytes` with `opts` and reads everything; the first error, if any.
fn read_everything(bytes: &[u8], opts: ReadOptions) -> hexz_core::Result<Vec<u8>> {
    let a = open_mem(bytes, opts)?;
    let mut out = a.read_vec(0, a.len() as usize)?;
    for e in a.entries()?.iter() {
        out.extend(e.path.as_bytes());
        out.extend(e.target.as_deref().unwrap_or("").as_bytes());
        out.extend(e.mode.to_le_bytes());
        out.extend(e.mtime_ns.to_le_bytes());
        out.extend(e.size.to_le_bytes());
        if e.kind != EntryKind::Dir && e.kind != EntryKind::Symlink {
            out.extend(e.data_offset.to_le_bytes());
        }
    }
    out.extend(a.metadata()?.unwrap_or_default());
    for g in a.record_groups()?.iter() {
        out.extend(g.name.as_bytes());
    }
    for i in 0..a.record_count() {
        let r = a.record(i)?;
        out.extend(r.offset.to_le_bytes());
        out.extend(r.length.to_le_bytes());
    }
    verify_clean(&a)?;
    Ok(out)
}

fn small_archive() -> Vec<u8> {
    let m = EntryMeta::default();
    build(raw_opts(), |w| {
        w.add_bytes("a.txt", &SECRET_TEXT.repeat(30), m)?;
        w.add_bytes("b.bin", &Rng::new(3).bytes(1500), m)?;
        w.add_bytes("z", &[0; 4096], m)?;
        w.add_array("g", DType::U8, &[3, 2], &[1, 2, 3, 4, 5, 6])?;
        w.set_metadata(br#"{"k":1}"#)
    })
    .unwrap()
}

#[test]
fn every_flipped_byte_is_detected() {
    let bytes = small_archive();
    let good = read_everything(&bytes, raw_key()).unwrap();
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            match read_everything(&b, raw_key()) {
                Err(e) => assert!(
                    matches!(
                        e,
                        Error::Format { .. }
                            | Error::Integrity { .. }
                            | Error::WrongKey(_)
                            | Error::Unsupported(_)
                    ),
                    "byte {i}: {e:?}"
                ),
                Ok(out) => panic!(
                    "byte {i} ^ {bit:#x} undetected (same output: {})",
                    out == good
                ),
            }
        }
    }
}

#[test]
fn header_changes_are_authenticated_even_with_a_valid_crc() {
    let bytes = small_archive();
    for i in 0..124 {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        fix_header_crc(&mut b);
        let e = read_everything(&b, raw_key()).err();
        assert!(e.is_some(), "header byte {i} changed undetected");
    }
    // Zstd and dedup bits flipped on are valid header values, but bound by the summary.
    for (byte, bit) in [(16usize, 2u8), (24, 1), (24, 2)] {
        let mut b = bytes.clone();
        b[byte] ^= bit;
        fix_header_crc(&mut b);
        match open_mem(&b, raw_key()) {
            Err(Error::Integrity { place, .. }) => assert!(
                matches!(
                    place.part,
                    Part::Frame {
                        kind: "summary",
                        ..
                    }
                ),
                "{place}"
            ),
            other => panic!("{byte}/{bit}: {:?}", other.err()),
        }
    }
}

/// The stored ranges of an archive's distinct stored blocks.
fn stored_blocks(bytes: &[u8]) -> Vec<hexz_core::BlockEntry> {
    let a = open_mem(bytes, raw_key()).unwrap();
    let mut v: Vec<_> = a
        .blocks()
        .map(|b| b.unwrap())
        .filter(|b| b.stored_len > 0)
        .collect();
    v.sort_by_key(|b| b.stored_offset);
    v.dedup_by_key(|b| b.stored_offset);
    v
}

fn noise_archive(seed: u64) -> Vec<u8> {
    build(raw_opts(), |w| {
        w.add_bytes("n", &Rng::new(seed).bytes(4 * 4096), EntryMeta::default())
    })
    .unwrap()
}

fn read_block(bytes: &[u8], b: &hexz_core::BlockEntry) -> hexz_core::Result<Vec<u8>> {
    open_mem(bytes, raw_key())?.read_vec(b.logical_offset, b.raw_len as usize)
}

fn is_auth_failure(r: hexz_core::Result<Vec<u8>>) -> bool {
    matches!(r, Err(Error::Integrity { ref detail, .. }) if detail.contains("AES-GCM"))
}

/// Swapping two blocks' stored bytes (same length), or copying one over another, is caught.
/// The crc32c of each block lives in the sealed index, so an attacker cannot adjust it; it is
/// what fires first here. `aead_catches_blocks_whose_crc_was_forged` shows that AES-GCM
/// catches the same move when the crc is made to match.
#[test]
fn swapped_and_moved_blocks_are_detected() {
    let bytes = noise_archive(1);
    let blocks = stored_blocks(&bytes);
    assert!(blocks.len() >= 4);
    assert!(blocks
        .iter()
        .all(|b| b.codec == Codec::None && b.stored_len == 4096 + 16));
    let (x, y) = (&blocks[1], &blocks[2]);
    let range = |b: &hexz_core::BlockEntry| {
        b.stored_offset as usize..b.stored_offset as usize + b.stored_len as usize
    };
    // Swap.
    let mut swapped = bytes.clone();
    let (bx, by) = (bytes[range(x)].to_vec(), bytes[range(y)].to_vec());
    swapped[range(x)].copy_from_slice(&by);
    swapped[range(y)].copy_from_slice(&bx);
    assert!(read_block(&swapped, x).is_err());
    assert!(read_block(&swapped, y).is_err());
    assert!(read_everything(&swapped, raw_key()).is_err());
    // Move: x's ciphertext over y's place (x still intact).
    let mut moved = bytes.clone();
    moved[range(y)].copy_from_slice(&bx);
    assert_eq!(
        read_block(&moved, x).unwrap(),
        read_block(&bytes, x).unwrap()
    );
    assert!(read_block(&moved, y).is_err());
}

/// The crc32c in the (sealed) index entry is checked first; these tests make the copied bytes
/// pass it, so that only AES-GCM can tell: a block from another archive at the same offset,
/// same length, encrypted with the same raw key, is refused; so is a moved block whose crc is
/// forged into a rebuilt, re-sealed index, which only the key holder can produce.
#[test]
fn replayed_block_from_another_archive_is_detected() {
    let a = noise_archive(1);
    let b = noise_archive(2);
    let ba = stored_blocks(&a);
    let bb = stored_blocks(&b);
    assert_eq!(ba.len(), bb.len());
    let (x, y) = (&ba[1], &bb[1]);
    assert_eq!(
        (x.stored_offset, x.stored_len),
        (y.stored_offset, y.stored_len)
    );
    let r = x.stored_offset as usize..x.stored_offset as usize + x.stored_len as usize;
    let mut replay = a.clone();
    replay[r.clone()].copy_from_slice(&b[r.clone()]);
    let e = read_block(&replay, x);
    assert!(e.is_err());
    // A frame from another archive under the same key: b's summary in a's place (the footer,
    // which is not sealed, rewritten to match it) fails AES-GCM: b's archive id is in its
    // associated data and its key is b's own.
    let sa = open_mem(&a, raw_key()).unwrap();
    let sb = open_mem(&b, raw_key()).unwrap();
    let (fa, fb) = (*sa.footer(), *sb.footer());
    let so = fb.summary_offset as usize;
    let mut replay = a[..fa.summary_offset as usize].to_vec();
    replay.extend_from_slice(&b[so..so + fb.summary_stored_len as usize]);
    let footer = hexz_format::Footer {
        summary_offset: fa.summary_offset,
        ..fb
    };
    replay.extend_from_slice(&footer.encode());
    match open_mem(&replay, raw_key()) {
        Err(Error::Integrity { place, detail }) => {
            assert!(
                place.to_string().contains("summary") && detail.contains("AES-GCM"),
                "{place}: {detail}"
            )
        }
        other => panic!("{:?}", other.err()),
    }
}

/// AES-GCM, not the crc, is what guards blocks: move a block's ciphertext onto another's
/// place and make the (sealed) index's crc match it, which needs the key: done here by
/// re-sealing the index page and the summary with the archive's own keys, appended after the
/// original frames. Everything then checks out except the moved block, which fails AES-GCM
/// (its offset, the nonce, and its associated data differ).
#[test]
fn aead_catches_blocks_whose_crc_was_forged() {
    use hexz_crypto::{ArchiveKeys, FrameAad, MasterKey};
    let bytes = noise_archive(1);
    let a = open_mem(&bytes, raw_key()).unwrap();
    let keys = ArchiveKeys::derive(&MasterKey::from_bytes(KEY), a.header().archive_id);
    let blocks: Vec<_> = a.blocks().map(|b| b.unwrap()).collect();
    let (x, y) = (blocks[1], blocks[2]);
    let f = *a.footer();
    let mut forged = bytes[..f.summary_offset as usize].to_vec();
    let rx = x.stored_offset as usize..(x.stored_offset + x.stored_len as u64) as usize;
    let ry = y.stored_offset as usize..(y.stored_offset + y.stored_len as u64) as usize;
    let moved = bytes[rx].to_vec();
    forged[ry].copy_from_slice(&moved);
    let mut raw = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let mut b = *b;
        if i == 2 {
            b.crc = hexz_format::crc32c(&moved);
        }
        raw.extend(encode_entry(&b));
    }
    let header: [u8; 128] = bytes[..128].try_into().unwrap();
    let mut seal = |raw: &[u8], kind: u8| -> hexz_format::FrameRef {
        let (codec, mut stored) = Compression::Lz4.encode(raw);
        let offset = forged.len() as u64;
        keys.seal_frame(
            &FrameAad {
                offset,
                raw_len: raw.len() as u32,
                codec: codec.id(),
                kind,
                header: (kind == 1).then_some(&header),
            },
            &mut stored,
        )
        .unwrap();
        forged.extend_from_slice(&stored);
        hexz_format::FrameRef {
            offset,
            stored_len: stored.len() as u32,
            raw_len: raw.len() as u32,
            codec: codec.id(),
            crc: hexz_format::crc32c(&stored),
            hash: *blake3::hash(&stored).as_bytes(),
        }
    };
    let mut s = a.summary().clone();
    s.index_pages[0].frame = seal(&raw, 2);
    let version = a.header().version;
    let sref = seal(&s.encode(version), 1);
    let footer = hexz_format::Footer {
        version,
        summary_offset: sref.offset,
        summary_stored_len: sref.stored_len,
        summary_raw_len: sref.raw_len,
        summary_codec: sref.codec().unwrap(),
        summary_crc: sref.crc,
        signature_offset: None,
    };
    forged.extend_from_slice(&footer.encode());
    let a2 = open_mem(&forged, raw_key()).unwrap();
    assert_eq!(
        a2.read_vec(x.logical_offset, 4096).unwrap(),
        a.read_vec(x.logical_offset, 4096).unwrap()
    );
    assert!(is_auth_failure(a2.read_vec(y.logical_offset, 4096)));
    let r = verify(&a2, &|_| {}).unwrap();
    // The moved block, and the original index page and summary left behind the forged ones.
    assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
    assert!(r.problems[0].contains("AES-GCM"), "{:?}", r.problems);
    assert!(
        r.problems[1].contains("belong to no block or frame"),
        "{:?}",
        r.problems
    );
}

fn encode_entry(b: &hexz_core::BlockEntry) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.extend(b.logical_offset.to_le_bytes());
    v.extend(b.stored_offset.to_le_bytes());
    v.extend(b.stored_len.to_le_bytes());
    v.extend(b.raw_len.to_le_bytes());
    v.push(b.codec.id());
    v.push(0);
    v.push(0);
    v.push(0);
    v.extend(b.crc.to_le_bytes());
    v.extend(b.hash);
    v
}

#[test]
fn truncation_is_a_clear_error() {
    let bytes = small_archive();
    for keep in [
        0,
        10,
        127,
        128,
        129,
        500,
        bytes.len() / 2,
        bytes.len() - 65,
        bytes.len() - 1,
    ] {
        let e = open_mem(&bytes[..keep], raw_key()).err().unwrap();
        assert!(e.is_corruption(), "{keep}: {e:?}");
        assert!(
            e.to_string().contains("truncated") || e.to_string().contains("footer"),
            "{keep}: {e}"
        );
    }
}

#[test]
fn verify_reports_a_corrupt_encrypted_block() {
    let bytes = noise_archive(5);
    let blocks = stored_blocks(&bytes);
    let mut b = bytes.clone();
    b[blocks[2].stored_offset as usize + 100] ^= 4;
    let a = open_mem(&b, raw_key()).unwrap();
    let r = verify(&a, &|_| {}).unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("block 2"), "{:?}", r.problems);
}
