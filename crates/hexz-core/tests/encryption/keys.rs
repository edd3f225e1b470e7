//! Keys and the KDF: recorded parameters, wrong and missing keys refused before any data is
//! read, checked options, crafted KDF parameters, the header readable without a key.

use crate::common::{build, fix_header_crc, open_mem, quiet_opts};
use crate::util::{
    content, enc_opts, encrypted, pass_opts, raw_key, raw_opts, with_key, write_all, KEY,
    PASSPHRASE,
};
use hexz_core::{
    Archive, Encryption, EntryMeta, Error, KdfParams, KeySource, MemStore, ReadAt, ReadOptions,
    WriteOptions,
};
use hexz_format::header::HEADER_LEN;
use hexz_format::{Kdf, RequiredFeatures};
use parking_lot::Mutex;
use std::sync::Arc;

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

#[test]
fn header_can_be_read_without_a_key() {
    let bytes = encrypted(pass_opts());
    let h = hexz_core::read_header(&MemStore::new(bytes)).unwrap();
    assert!(h.required.has(RequiredFeatures::ENCRYPTED));
    assert!(matches!(h.kdf, Kdf::Argon2id { m_cost: 64, .. }));
}
