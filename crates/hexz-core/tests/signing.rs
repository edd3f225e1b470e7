//! Signed archives (`docs/FORMAT.md` §10): signing in place and re-signing, checking at open
//! with a public key, every flipped byte of a signed archive caught (plain and encrypted),
//! reads from a tampered store failing, and the golden signed fixture.
#![cfg(all(feature = "signing", feature = "encryption"))]
#![allow(clippy::unwrap_used)]

mod common;

use common::{build, open_mem, quiet_opts, verify_clean};
use hexz_core::sign::{sign_file, SigningKey, VerifyingKey};
use hexz_core::verify::{verify, SignatureCheck};
use hexz_core::{
    Archive, Compression, DType, Encryption, EntryMeta, Error, KeySource, ReadOptions, WriteOptions,
};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::signature::SIGNATURE_LEN;
use hexz_testkit::replay::fixtures_dir as fixtures;
use hexz_testkit::Rng;
use serde_json::{json, Value};

const KEY: [u8; 32] = *b"hexz signing test key, 32 bytes!";

fn seed_key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn opts(encryption: Option<Encryption>) -> WriteOptions {
    WriteOptions {
        compression: Compression::Lz4,
        block_size: 4096,
        threads: 2,
        encryption,
        ..WriteOptions::default()
    }
}

fn small_archive(encrypted: bool) -> Vec<u8> {
    let m = EntryMeta::default();
    build(opts(encrypted.then(|| Encryption::raw_key(KEY))), |w| {
        w.add_bytes("a.txt", &b"signed text, repeated. ".repeat(400), m)?;
        w.add_bytes("b.bin", &Rng::new(3).bytes(5000), m)?;
        w.add_bytes("c.bin", &Rng::new(3).bytes(5000), m)?;
        w.add_bytes("z", &[0; 4096], m)?;
        w.add_array("g", DType::U8, &[3, 2], &[1, 2, 3, 4, 5, 6])?;
        w.set_metadata(br#"{"signed":true}"#)
    })
    .unwrap()
}

/// Signs `bytes` through a temporary file, as `hexz sign` does.
fn signed(bytes: &[u8], key: &SigningKey) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.hxz");
    std::fs::write(&path, bytes).unwrap();
    sign_file(&path, key).unwrap();
    std::fs::read(&path).unwrap()
}

fn read_opts(key: Option<&VerifyingKey>, encrypted: bool) -> ReadOptions {
    ReadOptions {
        verify_key: key.copied(),
        key: encrypted.then_some(KeySource::RawKey(KEY)),
        ..quiet_opts()
    }
}

/// Opens, reads every byte and table, and runs `verify`.
fn read_everything(bytes: &[u8], opts: ReadOptions) -> hexz_core::Result<Vec<u8>> {
    let a = open_mem(bytes, opts)?;
    let mut out = a.read_vec(0, a.len() as usize)?;
    for e in a.entries()?.iter() {
        out.extend(e.path.as_bytes());
        out.extend(e.mode.to_le_bytes());
        out.extend(e.size.to_le_bytes());
    }
    out.extend(a.metadata()?.unwrap_or_default());
    for g in a.record_groups()?.iter() {
        out.extend(g.name.as_bytes());
    }
    for i in 0..a.record_count() {
        out.extend(a.record(i)?.length.to_le_bytes());
    }
    verify_clean(&a)?;
    Ok(out)
}

#[test]
fn sign_in_place_then_open_with_the_public_key() {
    for encrypted in [false, true] {
        let plain = small_archive(encrypted);
        let key = seed_key(1);
        let pk = key.verifying_key();
        let bytes = signed(&plain, &key);
        assert_eq!(bytes.len(), plain.len() + SIGNATURE_LEN);
        // Everything before the old footer is untouched.
        assert_eq!(
            bytes[..plain.len() - FOOTER_LEN],
            plain[..plain.len() - FOOTER_LEN]
        );
        let want = read_everything(&plain, read_opts(None, encrypted)).unwrap();
        assert_eq!(
            read_everything(&bytes, read_opts(Some(&pk), encrypted)).unwrap(),
            want
        );
        // Without a public key a signed archive reads as before.
        assert_eq!(
            read_everything(&bytes, read_opts(None, encrypted)).unwrap(),
            want
        );

        let a = open_mem(&bytes, read_opts(Some(&pk), encrypted)).unwrap();
        let sig = a.signature().unwrap();
        assert_eq!(sig.public_key, pk.to_bytes());
        assert_eq!(sig.root_hash, a.root_hash());
        // Signing does not change the root hash: it covers header and summary only.
        assert_eq!(
            open_mem(&plain, read_opts(None, encrypted))
                .unwrap()
                .root_hash(),
            a.root_hash()
        );
        let r = verify(&a, &|_| {}).unwrap();
        assert!(r.is_ok(), "{:?}", r.problems);
        assert_eq!(
            r.signature,
            SignatureCheck::Valid {
                public_key: pk.to_bytes()
            }
        );
    }
}

/// Signing while writing (`WriteOptions::signing_key`) gives exactly the bytes of signing the
/// finished archive in place.
#[test]
fn signing_at_write_time_equals_signing_in_place() {
    let key = std::sync::Arc::new(seed_key(6));
    let m = EntryMeta::default();
    let write = |signing_key| {
        build(
            WriteOptions {
                archive_id: Some(*b"signed at write!"),
                signing_key,
                ..opts(None)
            },
            |w| {
                w.add_bytes("a", &b"abc".repeat(5000), m)?;
                w.add_bytes("b", &Rng::new(5).bytes(9000), m)
            },
        )
        .unwrap()
    };
    let at_write = write(Some(key.clone()));
    let after = signed(&write(None), &key);
    assert_eq!(at_write, after);
    read_everything(&at_write, read_opts(Some(&key.verifying_key()), false)).unwrap();
}

/// Without the decryption key, the signature of an encrypted archive still verifies (it
/// covers the header and the sealed summary), and a change there is caught.
#[test]
fn signature_checks_without_opening() {
    use hexz_core::sign::verify_signature;
    use hexz_core::MemStore;
    let key = seed_key(3);
    let pk = key.verifying_key();
    let bytes = signed(&small_archive(true), &key);
    let sig = verify_signature(&MemStore::new(bytes.clone()), Some(&pk)).unwrap();
    assert_eq!(sig.public_key, pk.to_bytes());
    verify_signature(&MemStore::new(bytes.clone()), None).unwrap();
    let other = seed_key(4).verifying_key();
    assert!(matches!(
        verify_signature(&MemStore::new(bytes.clone()), Some(&other)),
        Err(Error::BadSignature(_))
    ));
    let mut b = bytes.clone();
    b[60] ^= 1; // a KDF field of the header, crc not fixed
    assert!(verify_signature(&MemStore::new(b), Some(&pk)).is_err());
    // The archive id changed with a valid header crc: only the signature can tell.
    let mut b = bytes.clone();
    b[40] ^= 1;
    common::fix_header_crc(&mut b);
    assert!(matches!(
        verify_signature(&MemStore::new(b), Some(&pk)),
        Err(Error::BadSignature(_))
    ));
    let unsigned = small_archive(true);
    assert!(matches!(
        verify_signature(&MemStore::new(unsigned), Some(&pk)),
        Err(Error::NotSigned(_))
    ));
}

#[test]
fn wrong_signer_and_unsigned_archives_are_refused() {
    let plain = small_archive(false);
    let bytes = signed(&plain, &seed_key(1));
    let other = seed_key(2).verifying_key();
    match open_mem(&bytes, read_opts(Some(&other), false)) {
        Err(Error::BadSignature(m)) => assert!(m.contains("not by the expected key"), "{m}"),
        r => panic!("{:?}", r.err()),
    }
    match open_mem(&plain, read_opts(Some(&other), false)) {
        Err(Error::NotSigned(m)) => assert!(m.contains("not signed"), "{m}"),
        r => panic!("{:?}", r.err()),
    }
    let r = verify(&open_mem(&plain, quiet_opts()).unwrap(), &|_| {}).unwrap();
    assert_eq!(r.signature, SignatureCheck::Unsigned);
}

#[test]
fn re_signing_replaces_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.hxz");
    let plain = small_archive(false);
    std::fs::write(&path, &plain).unwrap();
    let first = sign_file(&path, &seed_key(1)).unwrap();
    assert!(!first.replaced);
    let second = sign_file(&path, &seed_key(2)).unwrap();
    assert!(second.replaced);
    assert_eq!(first.root_hash, second.root_hash);
    assert_eq!(second.file_len, (plain.len() + SIGNATURE_LEN) as u64);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), second.file_len);
    let with = |k: &SigningKey| ReadOptions {
        verify_key: Some(k.verifying_key()),
        ..quiet_opts()
    };
    Archive::open_with_options(&path, with(&seed_key(2))).unwrap();
    assert!(matches!(
        Archive::open_with_options(&path, with(&seed_key(1))),
        Err(Error::BadSignature(_))
    ));
}

/// `sign_copy` gives the same bytes as signing in place, replacing the target atomically (a new
/// file renamed over it), and checks the source before copying anything.
#[test]
fn sign_copy_equals_sign_file_and_replaces_atomically() {
    use hexz_core::sign::sign_copy;
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let key = seed_key(8);
    let plain = small_archive(false);
    let a = dir.path().join("a.hxz");
    std::fs::write(&a, &plain).unwrap();
    let ino = std::fs::metadata(&a).unwrap().ino();
    let r = sign_copy(&a, &a, &key).unwrap();
    assert_ne!(std::fs::metadata(&a).unwrap().ino(), ino);
    assert_eq!(r.file_len, (plain.len() + SIGNATURE_LEN) as u64);
    assert_eq!(std::fs::read(&a).unwrap(), signed(&plain, &key));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        [std::ffi::OsString::from("a.hxz")],
        "no temporary file left"
    );
    let junk = dir.path().join("junk.hxz");
    std::fs::write(&junk, [1u8; 500]).unwrap();
    let e = sign_copy(&junk, &dir.path().join("out.hxz"), &key).unwrap_err();
    assert!(e.to_string().contains("junk.hxz"), "{e}");
    assert!(!dir.path().join("out.hxz").exists());
}

#[test]
fn signing_refuses_what_is_not_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let key = seed_key(1);
    let missing = sign_file(&dir.path().join("missing.hxz"), &key).unwrap_err();
    assert!(missing.to_string().contains("missing.hxz"), "{missing}");
    let junk = dir.path().join("junk.hxz");
    std::fs::write(&junk, vec![7u8; 1000]).unwrap();
    let e = sign_file(&junk, &key).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    assert_eq!(
        std::fs::read(&junk).unwrap(),
        vec![7u8; 1000],
        "nothing written"
    );
    let mut bytes = small_archive(false);
    let n = bytes.len();
    bytes[n - FOOTER_LEN - 3] ^= 1; // inside the summary
    let bad = dir.path().join("bad.hxz");
    std::fs::write(&bad, &bytes).unwrap();
    let e = sign_file(&bad, &key).unwrap_err();
    assert!(e.to_string().contains("summary"), "{e}");
    assert_eq!(std::fs::read(&bad).unwrap(), bytes, "nothing written");
}

/// What signing promises (README, "Signatures"): with the public key, a change to any single byte is detected. Every
/// byte of a small signed archive is flipped in turn (two bits), plain and encrypted, with the
/// expected key and without it (then `verify` checks the signature against the key it names).
#[test]
fn every_flipped_byte_of_a_signed_archive_is_detected() {
    let key = seed_key(9);
    let pk = key.verifying_key();
    for encrypted in [false, true] {
        let bytes = signed(&small_archive(encrypted), &key);
        read_everything(&bytes, read_opts(Some(&pk), encrypted)).unwrap();
        for i in 0..bytes.len() {
            for (bit, expected_key) in [(0x01u8, Some(&pk)), (0x80, None)] {
                let mut b = bytes.clone();
                b[i] ^= bit;
                match read_everything(&b, read_opts(expected_key, encrypted)) {
                    Err(e) => assert!(
                        matches!(
                            e,
                            Error::Format { .. }
                                | Error::Integrity { .. }
                                | Error::BadSignature(_)
                                | Error::NotSigned(_)
                                | Error::WrongKey(_)
                                | Error::Unsupported(_)
                                | Error::NotEncrypted(_)
                                | Error::KeyRequired(_)
                        ),
                        "byte {i}: {e:?}"
                    ),
                    Ok(_) => panic!("encrypted {encrypted}: byte {i} ^ {bit:#x} undetected"),
                }
            }
        }
    }
}

/// A store that changes one byte on its way to the reader: what an untrusted bucket or CDN
/// could do after the archive was signed.
#[test]
fn tampered_blocks_fail_on_read_and_the_rest_still_reads() {
    let key = seed_key(4);
    let m = EntryMeta::default();
    let data = Rng::new(77).bytes(64 * 1024);
    let plain = build(opts(None), |w| w.add_bytes("noise", &data, m)).unwrap();
    let mut bytes = signed(&plain, &key);
    let a = open_mem(&bytes, quiet_opts()).unwrap();
    let blocks: Vec<_> = a.blocks().map(Result::unwrap).collect();
    let victim = blocks[5];
    bytes[victim.stored_offset as usize + 10] ^= 0x40;
    let a = open_mem(&bytes, read_opts(Some(&key.verifying_key()), false)).unwrap();
    let e = a.read_vec(victim.logical_offset, 100).unwrap_err();
    assert!(matches!(e, Error::Integrity { .. }), "{e}");
    assert!(e.to_string().contains("block 5"), "{e}");
    assert_eq!(a.read_vec(0, 4096 * 5).unwrap(), data[..4096 * 5]);
    let r = verify(&a, &|_| {}).unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
}

#[test]
fn verify_reports_bytes_outside_every_block_and_frame() {
    // An archive with 16 junk bytes between the header and its first block: the offsets are
    // shifted consistently, so only the coverage check can notice.
    let plain = small_archive(false);
    let a = open_mem(&plain, quiet_opts()).unwrap();
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
    let f = *a.footer();
    // Grow the summary's stored region by prepending junk is not possible without rewriting
    // every offset, so instead cut the file in front of the summary: move the summary 16
    // bytes later and leave the gap.
    let s_off = f.summary_offset as usize;
    let s_len = f.summary_stored_len as usize;
    let mut bytes = plain[..s_off].to_vec();
    bytes.extend_from_slice(&[0xAA; 16]);
    bytes.extend_from_slice(&plain[s_off..s_off + s_len]);
    // The summary is LZ4 at a new offset; it is not encrypted, so only the footer changes.
    let footer = hexz_format::Footer {
        summary_offset: f.summary_offset + 16,
        ..f
    };
    bytes.extend_from_slice(&footer.encode());
    let a = open_mem(&bytes, quiet_opts()).unwrap();
    let r = verify(&a, &|_| {}).unwrap();
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(
        r.problems[0].contains(&format!("bytes {s_off}..{}", s_off + 16)),
        "{:?}",
        r.problems
    );
}

// ---- Golden signed fixture: written once, never regenerated. ----

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const SIGNED_FIXTURE: &str = "encrypted-signed.hxz";
/// The fixture's signing key (RFC 8032 test 1's secret key; public, for tests only).
const FIXTURE_SIGNING_SEED: &str =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn fixture_raw_key() -> [u8; 32] {
    let t = std::fs::read_to_string(fixtures().join("encrypted-raw-key.key")).unwrap();
    let t = t.trim();
    std::array::from_fn(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).unwrap())
}

fn describe_signed(a: &Archive, bytes: &[u8]) -> Value {
    let entries: Vec<Value> = a
        .entries()
        .unwrap()
        .iter()
        .map(|e| {
            let data = a.read_vec(e.data_offset, e.size as usize).unwrap();
            json!({"path": e.path, "size": e.size, "blake3": blake3::hash(&data).to_hex().to_string()})
        })
        .collect();
    let sig = a.signature().unwrap();
    json!({
        "file_len": bytes.len(),
        "file_blake3": blake3::hash(bytes).to_hex().to_string(),
        "root_hash": hex(&a.root_hash()),
        "public_key": hex(&sig.public_key),
        "signature": hex(&sig.signature),
        "entries": entries,
        "metadata": String::from_utf8(a.metadata().unwrap().unwrap()).unwrap(),
    })
}

#[test]
#[ignore = "writes tests/fixtures/v1/encrypted-signed.hxz once; never regenerated"]
fn generate_signed_fixture() {
    let spec = fixtures().join("encrypted-signed.json");
    if spec.exists() {
        eprintln!(
            "{} exists; format v1 fixtures are never regenerated",
            spec.display()
        );
        return;
    }
    let seed: [u8; 32] = std::array::from_fn(|i| {
        u8::from_str_radix(&FIXTURE_SIGNING_SEED[2 * i..2 * i + 2], 16).unwrap()
    });
    let key = SigningKey::from_seed(&seed);
    let path = fixtures().join(SIGNED_FIXTURE);
    let m = EntryMeta {
        mode: 0o644,
        mtime_ns: 1_700_000_000_000_000_000,
    };
    let mut w =
        hexz_core::ArchiveWriter::create(&path, opts(Some(Encryption::raw_key(fixture_raw_key()))))
            .unwrap();
    w.add_bytes(
        "signed/readme.txt",
        &b"golden signed fixture\n".repeat(200),
        m,
    )
    .unwrap();
    w.add_bytes("signed/noise.bin", &Rng::new(0x5164).bytes(7000), m)
        .unwrap();
    w.add_bytes("signed/again.bin", &Rng::new(0x5164).bytes(7000), m)
        .unwrap();
    w.set_metadata(br#"{"fixture":"encrypted-signed","version":1}"#)
        .unwrap();
    w.finish().unwrap();
    sign_file(&path, &key).unwrap();
    std::fs::write(
        fixtures().join("encrypted-signed.pub"),
        key.verifying_key().to_pem(),
    )
    .unwrap();
    std::fs::write(
        fixtures().join("encrypted-signed.key"),
        key.to_pem().unwrap().as_bytes(),
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let a = open_mem(
        &bytes,
        ReadOptions {
            key: Some(KeySource::RawKey(fixture_raw_key())),
            verify_key: Some(key.verifying_key()),
            ..quiet_opts()
        },
    )
    .unwrap();
    let text = serde_json::to_string_pretty(&describe_signed(&a, &bytes)).unwrap();
    std::fs::write(spec, text + "\n").unwrap();
}

#[test]
fn golden_signed_fixture_reads_and_verifies_as_recorded() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("encrypted-signed.json")).unwrap(),
    )
    .unwrap();
    let path = fixtures().join(SIGNED_FIXTURE);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        blake3::hash(&bytes).to_hex().to_string(),
        spec["file_blake3"],
        "{SIGNED_FIXTURE} was modified"
    );
    let pk = VerifyingKey::read_file(&fixtures().join("encrypted-signed.pub")).unwrap();
    assert_eq!(hex(&pk.to_bytes()), spec["public_key"]);
    let sk = SigningKey::read_file(&fixtures().join("encrypted-signed.key")).unwrap();
    assert_eq!(sk.verifying_key(), pk);
    let opts = ReadOptions {
        key: Some(KeySource::RawKey(fixture_raw_key())),
        verify_key: Some(pk),
        ..quiet_opts()
    };
    let a = Archive::open_with_options(&path, opts.clone()).unwrap();
    assert_eq!(describe_signed(&a, &bytes), spec);
    let r = verify(&a, &|_| {}).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(
        r.signature,
        SignatureCheck::Valid {
            public_key: pk.to_bytes()
        }
    );
    let readme = a.entry("signed/readme.txt").unwrap().unwrap();
    assert_eq!(
        a.read_vec(readme.data_offset, readme.size as usize)
            .unwrap(),
        b"golden signed fixture\n".repeat(200)
    );
    // Dedup under encryption: the second copy of the noise shares its stored bytes.
    let blocks: Vec<_> = a.blocks().map(Result::unwrap).collect();
    let stored: std::collections::HashSet<u64> = blocks.iter().map(|b| b.stored_offset).collect();
    assert!(stored.len() < blocks.len(), "no block was deduplicated");
    // The wrong signer, the wrong encryption key: clear errors.
    let other = SigningKey::from_seed(&[1; 32]).verifying_key();
    assert!(matches!(
        Archive::open_with_options(
            &path,
            ReadOptions {
                verify_key: Some(other),
                ..opts.clone()
            }
        ),
        Err(Error::BadSignature(_))
    ));
    assert!(matches!(
        Archive::open_with_options(
            &path,
            ReadOptions {
                key: Some(KeySource::RawKey([0; 32])),
                ..opts
            }
        ),
        Err(Error::WrongKey(_))
    ));
}
