//! What an encrypted archive holds: round trips through every codec path, no plaintext
//! anywhere in the file, dedup and holes under keyed hashes, zstd and bigger blocks.

use crate::common::{build, open_mem};
use crate::util::{
    check_all, content, encrypted, pass_opts, raw_key, raw_opts, with_key, write_all, GROUP_NAME,
    KEY, PASSPHRASE, SECRET_NAME,
};
use hexz_core::verify::verify;
use hexz_core::{Compression, EntryMeta, KdfParams, KeySource, ReadOptions, WriteOptions};
use hexz_format::header::Cipher;
use hexz_format::{Codec, Kdf, RequiredFeatures};
use hexz_testkit::Rng;
use parking_lot::Mutex;
use std::sync::Arc;

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
