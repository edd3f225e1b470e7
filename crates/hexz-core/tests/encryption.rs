//! Encrypted archives (`docs/FORMAT.md` §9): round trips with raw keys and passphrases, wrong
//! and missing keys, tampering (flipped, swapped, moved, replayed and truncated bytes), no
//! plaintext in the file, dedup under keyed hashes, and the golden encrypted fixtures.
#![cfg(feature = "encryption")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{build, fix_header_crc, open_mem, quiet_opts};
use hexz_core::verify::verify;
use hexz_core::{
    Archive, Compression, DType, Encryption, EntryKind, EntryMeta, Error, KdfParams, KeySource,
    MemStore, Part, Place, ReadAt, ReadOptions, WriteOptions,
};
use hexz_format::header::{Cipher, HEADER_LEN};
use hexz_format::{Codec, Kdf, RequiredFeatures};
use hexz_testkit::data::mixed_data;
use hexz_testkit::Rng;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const KEY: [u8; 32] = *b"hexz test key, 32 bytes long!!!!";
const PASSPHRASE: &str = "correct horse battery staple";

fn enc_opts(enc: Encryption) -> WriteOptions {
    WriteOptions {
        compression: Compression::Lz4,
        block_size: 4096,
        threads: 2,
        encryption: Some(enc),
        ..WriteOptions::default()
    }
}

fn raw_opts() -> WriteOptions {
    enc_opts(Encryption::raw_key(KEY))
}

fn pass_opts() -> WriteOptions {
    enc_opts(Encryption::passphrase(PASSPHRASE).with_kdf(KdfParams::testing()))
}

fn with_key(key: KeySource) -> ReadOptions {
    ReadOptions {
        key: Some(key),
        ..quiet_opts()
    }
}

fn raw_key() -> ReadOptions {
    with_key(KeySource::RawKey(KEY))
}

/// Names, metadata and data that must never appear in an encrypted file.
const SECRET_NAME: &str = "secret-plans/launch-codes.txt";
const SECRET_META: &str = r#"{"owner":"plaintext-marker-7c1f","note":"do not leak"}"#;
const SECRET_TEXT: &[u8] = b"CONFIDENTIAL-PATTERN-0123456789abcdef ";
const GROUP_NAME: &str = "hidden-group-name";

struct Content {
    text: Vec<u8>,
    noise: Vec<u8>,
    mixed: Vec<u8>,
    rows: Vec<u8>,
}

fn content() -> Content {
    Content {
        text: SECRET_TEXT.repeat(700),
        noise: Rng::new(0x5ec).bytes(3 * 4096 + 100),
        mixed: mixed_data(11, 150_000),
        rows: (0..40 * 12).map(|i| (i * 31 % 251) as u8).collect(),
    }
}

fn write_all(w: &mut hexz_core::ArchiveWriter, c: &Content) -> hexz_core::Result<()> {
    let m = EntryMeta {
        mode: 0o640,
        mtime_ns: 1_700_000_000_123_456_789,
    };
    w.add_dir_entry("secret-plans", m)?;
    w.add_bytes(SECRET_NAME, &c.text, m)?;
    w.add_bytes("secret-plans/noise.bin", &c.noise, m)?;
    w.add_stream("disk", &c.mixed[..], m)?;
    w.add_symlink("latest", SECRET_NAME, m)?;
    w.add_array(GROUP_NAME, DType::U8, &[40, 12], &c.rows)?;
    w.set_metadata(SECRET_META.as_bytes())
}

fn check_all(a: &Archive, c: &Content) {
    assert!(a.is_encrypted());
    let entries = a.entries().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "disk",
            "latest",
            "secret-plans",
            SECRET_NAME,
            "secret-plans/noise.bin"
        ]
    );
    for (path, data) in [
        (SECRET_NAME, &c.text),
        ("secret-plans/noise.bin", &c.noise),
        ("disk", &c.mixed),
    ] {
        let e = a.entry(path).unwrap().unwrap();
        assert_eq!(e.mode, 0o640);
        assert_eq!(a.read_vec(e.data_offset, e.size as usize).unwrap(), *data);
        // Unaligned small reads too.
        let mut buf = vec![0u8; 777.min(data.len() - 3)];
        a.read_entry_at(&e, 3, &mut buf).unwrap();
        assert_eq!(buf, data[3..3 + buf.len()]);
    }
    assert_eq!(
        a.entry("latest").unwrap().unwrap().target.as_deref(),
        Some(SECRET_NAME)
    );
    assert_eq!(a.metadata().unwrap().unwrap(), SECRET_META.as_bytes());
    let groups = a.record_groups().unwrap();
    assert_eq!(groups[0].name, GROUP_NAME);
    assert_eq!(a.record_count(), 40);
    for i in [0u64, 17, 39] {
        let r = a.record(i).unwrap();
        assert_eq!(
            a.read_vec(r.offset, r.length as usize).unwrap(),
            c.rows[i as usize * 12..i as usize * 12 + 12]
        );
    }
    let r = verify(a, &|_| {}).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.bytes, a.len());
}

fn encrypted(opts: WriteOptions) -> Vec<u8> {
    build(opts, |w| write_all(w, &content())).unwrap()
}

#[test]
fn round_trip_raw_key() {
    let bytes = encrypted(raw_opts());
    let c = content();
    let a = open_mem(&bytes, raw_key()).unwrap();
    check_all(&a, &c);
    let h = a.header();
    assert!(h.required.has(RequiredFeatures::ENCRYPTED));
    assert_eq!(h.cipher, Cipher::Aes256Gcm);
    assert_eq!(h.kdf, Kdf::RawKey);
    assert_ne!(h.key_check, [0; 16]);
    // With read-ahead, a big cache and hash checks on every read.
    let a = open_mem(
        &bytes,
        ReadOptions {
            verify_hashes: true,
            key: Some(KeySource::RawKey(KEY)),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    check_all(&a, &c);
    let mut pos = 0;
    while pos < a.len() {
        let n = a.read_vec(pos, 1000).unwrap().len() as u64;
        pos += n;
    }
    // Every codec path is taken: holes, LZ4, raw.
    let codecs: Vec<Codec> = a.blocks().map(|b| b.unwrap().codec).collect();
    for c in [Codec::Zero, Codec::Lz4, Codec::None] {
        assert!(codecs.contains(&c), "{c:?}");
    }
}

#[test]
fn round_trip_passphrase() {
    let bytes = encrypted(pass_opts());
    let a = open_mem(&bytes, with_key(KeySource::Passphrase(PASSPHRASE.into()))).unwrap();
    check_all(&a, &content());
    match a.header().kdf {
        Kdf::Argon2id {
            m_cost,
            t_cost,
            parallelism,
            salt,
        } => {
            let t = KdfParams::testing();
            assert_eq!(
                (m_cost, t_cost, parallelism),
                (t.m_cost, t.t_cost, t.parallelism)
            );
            assert_ne!(salt, [0; 16]);
        }
        k => panic!("{k:?}"),
    }
    // Two archives with one passphrase: different salts, ids and key checks.
    let again = encrypted(pass_opts());
    assert_ne!(again[32..96], bytes[32..96]);
}

#[test]
fn default_kdf_parameters_are_recorded() {
    let bytes = build(enc_opts(Encryption::passphrase("pw")), |w| {
        w.add_bytes("f", b"x", EntryMeta::default())
    })
    .unwrap();
    let a = open_mem(&bytes, with_key(KeySource::Passphrase("pw".into()))).unwrap();
    let d = KdfParams::DEFAULT;
    assert_eq!((d.m_cost, d.t_cost, d.parallelism), (65536, 3, 4));
    assert!(matches!(
        a.header().kdf,
        Kdf::Argon2id {
            m_cost: 65536,
            t_cost: 3,
            parallelism: 4,
            ..
        }
    ));
    assert_eq!(a.read_vec(0, 1).unwrap(), b"x");
}

/// A store that records every read, to show what opening touched.
struct Counting {
    inner: MemStore,
    reads: Mutex<Vec<(u64, usize)>>,
}

impl ReadAt for Counting {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.reads.lock().push((offset, buf.len()));
        self.inner.read_exact_at(offset, buf)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn describe(&self) -> String {
        "counting".into()
    }
}

fn open_counting(
    bytes: &[u8],
    opts: ReadOptions,
) -> (hexz_core::Result<Archive>, Vec<(u64, usize)>) {
    let store = Arc::new(Counting {
        inner: MemStore::new(bytes.to_vec()),
        reads: Mutex::new(Vec::new()),
    });
    let r = Archive::open_store(store.clone(), opts);
    let reads = store.reads.lock().clone();
    (r, reads)
}

#[test]
fn wrong_or_missing_key_is_a_clear_error_before_any_data() {
    let raw = encrypted(raw_opts());
    let pass = encrypted(pass_opts());
    let cases: Vec<(&Vec<u8>, Option<KeySource>, &str)> = vec![
        (&raw, Some(KeySource::RawKey([7; 32])), "wrong raw key"),
        (
            &raw,
            Some(KeySource::Passphrase(PASSPHRASE.into())),
            "raw key",
        ),
        (
            &pass,
            Some(KeySource::Passphrase("wrong horse".into())),
            "wrong passphrase",
        ),
        (
            &pass,
            Some(KeySource::Passphrase(format!("{PASSPHRASE}\n"))),
            "wrong passphrase",
        ),
        (&pass, Some(KeySource::RawKey(KEY)), "a passphrase"),
        (&raw, None, "a key or passphrase is needed"),
        (&pass, None, "a key or passphrase is needed"),
    ];
    for (bytes, key, msg) in cases {
        let missing = key.is_none();
        let (r, reads) = open_counting(
            bytes,
            ReadOptions {
                key,
                ..quiet_opts()
            },
        );
        let e = r.err().unwrap();
        if missing {
            assert!(matches!(e, Error::KeyRequired(_)), "{e:?}");
        } else {
            assert!(matches!(e, Error::WrongKey(_)), "{e:?}");
        }
        assert!(e.to_string().contains(msg), "{e}");
        assert!(e.to_string().contains("counting"), "names the archive: {e}");
        // Only the header was read: nothing was decrypted.
        assert_eq!(reads, [(0, HEADER_LEN)], "{msg}");
    }
    // A key for an archive that is not encrypted.
    let plain = build(WriteOptions::default(), |w| write_all(w, &content())).unwrap();
    let e = open_mem(&plain, raw_key()).err().unwrap();
    assert!(matches!(e, Error::NotEncrypted(_)), "{e:?}");
    assert!(open_mem(&plain, quiet_opts()).is_ok());
}

#[test]
fn encryption_is_a_supported_feature() {
    assert_ne!(
        hexz_core::supported_features() & RequiredFeatures::ENCRYPTED,
        0
    );
}

#[test]
fn options_are_checked() {
    let e = build(
        WriteOptions {
            archive_id: Some([1; 16]),
            ..raw_opts()
        },
        |_| Ok(()),
    )
    .err()
    .unwrap();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
    let e = build(enc_opts(Encryption::passphrase("")), |_| Ok(()))
        .err()
        .unwrap();
    assert!(e.to_string().contains("empty"), "{e}");
    let bad = KdfParams {
        m_cost: 4,
        t_cost: 1,
        parallelism: 1,
    };
    assert!(
        build(enc_opts(Encryption::passphrase("x").with_kdf(bad)), |_| Ok(
            ()
        ))
        .is_err()
    );
    // Debug output never shows key material.
    let shown = format!("{:?} {:?}", raw_opts(), pass_opts());
    assert!(
        !shown.contains("hexz test key") && !shown.contains("horse"),
        "{shown}"
    );
    assert!(KeySource::from_hex(&"ab".repeat(32)).is_ok());
    assert!(matches!(
        KeySource::from_hex("abc"),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn crafted_kdf_parameters_are_refused_before_argon2() {
    let pass = encrypted(pass_opts());
    for (off, value) in [(52usize, u32::MAX), (52, 1), (56, 1000), (60, 0), (60, 65)] {
        let mut b = pass.clone();
        b[off..off + 4].copy_from_slice(&value.to_le_bytes());
        fix_header_crc(&mut b);
        let t = std::time::Instant::now();
        let e = open_mem(&b, with_key(KeySource::Passphrase(PASSPHRASE.into())))
            .err()
            .unwrap();
        assert!(matches!(e, Error::Format { .. }), "{off}: {e:?}");
        assert!(t.elapsed().as_secs() < 5);
    }
}

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
    let r = verify(&a, &|_| {})?;
    if !r.is_ok() {
        return Err(Error::Integrity {
            place: Place {
                archive: "verify".into(),
                part: Part::Frame {
                    kind: "archive",
                    offset: 0,
                },
            },
            detail: r.problems.join("; "),
        });
    }
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
    let sref = seal(&s.encode(), 1);
    let footer = hexz_format::Footer {
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

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_plaintext_in_the_file() {
    let c = content();
    for opts in [raw_opts(), pass_opts()] {
        let bytes = build(opts, |w| write_all(w, &c)).unwrap();
        let needles: Vec<&[u8]> = vec![
            SECRET_NAME.as_bytes(),
            b"secret-plans",
            b"launch-codes",
            b"noise.bin",
            b"latest",
            GROUP_NAME.as_bytes(),
            b"plaintext-marker-7c1f",
            b"do not leak",
            b"CONFIDENTIAL",
            b"PATTERN-0123",
            &c.noise[5000..5016],
            &c.noise[..16],
            &c.rows[..16],
        ];
        for n in needles {
            assert!(
                !contains(&bytes, n),
                "{:?} appears in the file",
                String::from_utf8_lossy(n)
            );
        }
        // No plaintext content hash of any block either (of the data's block-sized pieces).
        for chunk in c.noise.chunks(4096) {
            assert!(!contains(&bytes, blake3::hash(chunk).as_bytes()));
        }
        // The plain archive does contain them (the needles are meaningful).
        let plain = build(WriteOptions::default(), |w| write_all(w, &c)).unwrap();
        assert!(contains(&plain, b"launch-codes.tx"));
        assert!(contains(&plain, b"plaintext-marker-7c1f"));
        assert!(contains(&plain, &c.noise[5000..5016]));
    }
}

#[test]
fn dedup_still_works_with_keyed_hashes() {
    let block = Rng::new(99).bytes(64 << 10);
    let opts = WriteOptions {
        block_size: 64 << 10,
        ..raw_opts()
    };
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut w = hexz_core::ArchiveWriter::with_sink(
        Box::new(hexz_core::sink::VecSink::new(out.clone())),
        opts,
    )
    .unwrap();
    for i in 0..16 {
        w.add_bytes(&format!("copy{i:02}"), &block, EntryMeta::default())
            .unwrap();
    }
    let report = w.finish().unwrap();
    let bytes = out.lock().clone();
    assert_eq!(report.stored_blocks, 1);
    assert_eq!(report.dedup_blocks, 15);
    // About one copy (64 KiB + tag) plus tables.
    assert!(bytes.len() < (64 << 10) + 4096, "{} bytes", bytes.len());
    let a = open_mem(&bytes, raw_key()).unwrap();
    for e in a.entries().unwrap().iter() {
        assert_eq!(a.read_vec(e.data_offset, e.size as usize).unwrap(), block);
    }
    // Keyed: the index holds no plain BLAKE3 of the block.
    let entry = a.blocks().next().unwrap().unwrap();
    assert_ne!(entry.hash, *blake3::hash(&block).as_bytes());
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
}

#[test]
fn holes_stay_holes_and_verify() {
    let bytes = build(raw_opts(), |w| {
        w.add_stream("disk", &vec![0u8; 20 * 4096][..], EntryMeta::default())
            .map(|_| ())
    })
    .unwrap();
    assert!(bytes.len() < 2048, "{} bytes", bytes.len());
    let a = open_mem(&bytes, raw_key()).unwrap();
    assert!(a.blocks().all(|b| b.unwrap().codec == Codec::Zero));
    assert_eq!(a.read_vec(0, 20 * 4096).unwrap(), vec![0u8; 20 * 4096]);
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
    // Holes' content hashes are keyed too.
    let e = a.blocks().next().unwrap().unwrap();
    assert_ne!(e.hash, *blake3::hash(&[0u8; 4096]).as_bytes());
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

#[test]
fn zstd_and_bigger_blocks() {
    let c = content();
    let bytes = build(
        WriteOptions {
            compression: Compression::Zstd(3),
            block_size: 64 << 10,
            ..raw_opts()
        },
        |w| write_all(w, &c),
    )
    .unwrap();
    let a = open_mem(&bytes, raw_key()).unwrap();
    assert!(a.header().required.has(RequiredFeatures::ZSTD));
    check_all(&a, &c);
}

// ---- Golden encrypted fixtures: written once, never regenerated. ----

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v1")
}

fn b3(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

const FIXTURE_KEY_HEX: &str = "8f2a4c6e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f40";
const FIXTURE_PASSPHRASE: &str = "hexz golden passphrase";

fn fixture_writes(w: &mut hexz_core::ArchiveWriter) {
    let m = EntryMeta {
        mode: 0o644,
        mtime_ns: 1_700_000_000_000_000_000,
    };
    w.add_dir_entry("docs", m).unwrap();
    w.add_bytes(
        "docs/readme.txt",
        &b"golden encrypted fixture\n".repeat(300),
        m,
    )
    .unwrap();
    w.add_bytes("docs/noise.bin", &Rng::new(0xe7c).bytes(9000), m)
        .unwrap();
    w.add_bytes("docs/zeros", &[0; 8192], m).unwrap();
    w.add_bytes("docs/copy.bin", &Rng::new(0xe7c).bytes(9000), m)
        .unwrap();
    w.add_symlink("link", "docs/readme.txt", m).unwrap();
    w.add_array(
        "labels",
        DType::U8,
        &[6, 2],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    )
    .unwrap();
    w.set_metadata(br#"{"fixture":"encrypted","version":1}"#)
        .unwrap();
}

fn describe_fixture(a: &Archive, bytes: &[u8]) -> Value {
    let entries: Vec<Value> = a
        .entries()
        .unwrap()
        .iter()
        .map(|e| {
            let data = a.read_vec(e.data_offset, e.size as usize).unwrap();
            json!({"path": e.path, "size": e.size, "mode": e.mode, "mtime_ns": e.mtime_ns,
                   "target": e.target, "blake3": b3(&data)})
        })
        .collect();
    let records: Vec<String> = (0..a.record_count())
        .map(|i| {
            let r = a.record(i).unwrap();
            b3(&a.read_vec(r.offset, r.length as usize).unwrap())
        })
        .collect();
    json!({
        "file_len": bytes.len(),
        "file_blake3": b3(bytes),
        "root_hash": a.root_hash().iter().map(|x| format!("{x:02x}")).collect::<String>(),
        "logical_size": a.len(),
        "block_count": a.summary().block_count,
        "entries": entries,
        "records_blake3": records,
        "metadata": String::from_utf8(a.metadata().unwrap().unwrap()).unwrap(),
    })
}

#[test]
#[ignore = "writes the encrypted fixtures of tests/fixtures/v1 once; never regenerated"]
fn generate_encrypted_fixtures() {
    let spec = fixtures().join("encrypted.json");
    if spec.exists() {
        eprintln!(
            "{} exists; format v1 fixtures are never regenerated",
            spec.display()
        );
        return;
    }
    let key = KeySource::from_hex(FIXTURE_KEY_HEX).unwrap();
    let raw = match &key {
        KeySource::RawKey(r) => *r,
        KeySource::Passphrase(_) => unreachable!(),
    };
    let mut out = serde_json::Map::new();
    for (name, enc, read_key) in [
        ("encrypted-raw-key.hxz", Encryption::raw_key(raw), key),
        (
            "encrypted-passphrase.hxz",
            Encryption::passphrase(FIXTURE_PASSPHRASE).with_kdf(KdfParams {
                m_cost: 256,
                t_cost: 2,
                parallelism: 2,
            }),
            KeySource::Passphrase(FIXTURE_PASSPHRASE.into()),
        ),
    ] {
        let path = fixtures().join(name);
        let mut w = hexz_core::ArchiveWriter::create(&path, enc_opts(enc)).unwrap();
        fixture_writes(&mut w);
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let a = open_mem(&bytes, with_key(read_key)).unwrap();
        out.insert(name.into(), describe_fixture(&a, &bytes));
    }
    out.insert("key_hex".into(), json!(FIXTURE_KEY_HEX));
    out.insert("passphrase".into(), json!(FIXTURE_PASSPHRASE));
    let text = serde_json::to_string_pretty(&Value::Object(out)).unwrap();
    std::fs::write(spec, text + "\n").unwrap();
    std::fs::write(
        fixtures().join("encrypted-raw-key.key"),
        format!("{FIXTURE_KEY_HEX}\n"),
    )
    .unwrap();
}

#[test]
fn golden_encrypted_fixtures_read_as_recorded() {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("encrypted.json")).unwrap())
            .unwrap();
    let from_file = KeySource::from_key_file(&fixtures().join("encrypted-raw-key.key")).unwrap();
    let key = KeySource::from_hex(spec["key_hex"].as_str().unwrap()).unwrap();
    let pass = KeySource::Passphrase(spec["passphrase"].as_str().unwrap().into());
    for (name, k) in [
        ("encrypted-raw-key.hxz", key.clone()),
        ("encrypted-raw-key.hxz", from_file),
        ("encrypted-passphrase.hxz", pass),
    ] {
        let path = fixtures().join(name);
        let bytes = std::fs::read(&path).unwrap();
        let want = &spec[name];
        assert_eq!(b3(&bytes), want["file_blake3"], "{name} was modified");
        let a = Archive::open_with_options(&path, with_key(k)).unwrap();
        assert!(a.is_encrypted());
        let want_kdf = match name {
            "encrypted-raw-key.hxz" => Kdf::RawKey,
            _ => match a.header().kdf {
                Kdf::Argon2id { salt, .. } => Kdf::Argon2id {
                    m_cost: 256,
                    t_cost: 2,
                    parallelism: 2,
                    salt,
                },
                k => panic!("{k:?}"),
            },
        };
        assert_eq!(a.header().kdf, want_kdf);
        assert_eq!(describe_fixture(&a, &bytes), *want, "{name}");
        let r = verify(&a, &|_| {}).unwrap();
        assert!(r.is_ok(), "{name}: {:?}", r.problems);
        // The contents, recomputed from the inputs.
        let readme = a.entry("docs/readme.txt").unwrap().unwrap();
        assert_eq!(
            a.read_vec(readme.data_offset, readme.size as usize)
                .unwrap(),
            b"golden encrypted fixture\n".repeat(300)
        );
        let copy = a.entry("docs/copy.bin").unwrap().unwrap();
        assert_eq!(
            a.read_vec(copy.data_offset, copy.size as usize).unwrap(),
            Rng::new(0xe7c).bytes(9000)
        );
        // Without a key, or with a wrong one: clear errors.
        assert!(matches!(
            Archive::open_with_options(&path, quiet_opts()),
            Err(Error::KeyRequired(_))
        ));
        assert!(matches!(
            Archive::open_with_options(&path, with_key(KeySource::RawKey([0; 32]))),
            Err(Error::WrongKey(_))
        ));
    }
    let p = open_mem(
        &std::fs::read(fixtures().join("encrypted-passphrase.hxz")).unwrap(),
        with_key(KeySource::Passphrase("hexz golden passphrasE".into())),
    );
    assert!(matches!(p, Err(Error::WrongKey(_))));
}

#[test]
fn header_can_be_read_without_a_key() {
    let bytes = encrypted(pass_opts());
    let h = hexz_core::read_header(&MemStore::new(bytes)).unwrap();
    assert!(h.required.has(RequiredFeatures::ENCRYPTED));
    assert!(matches!(h.kdf, Kdf::Argon2id { m_cost: 64, .. }));
}
