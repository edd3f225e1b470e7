//! The §9 construction against vectors computed independently (Python's `cryptography`
//! package: HKDF-SHA256 and AES-256-GCM), round trips and tampering.
#![allow(clippy::unwrap_used)]

use hexz_crypto::{ArchiveKeys, BlockAad, Error, FrameAad, KdfParams, MasterKey, TAG_LEN};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn keys() -> ArchiveKeys {
    let master = MasterKey::from_bytes(std::array::from_fn(|i| i as u8));
    ArchiveKeys::derive(&master, std::array::from_fn(|i| 0x10 + i as u8))
}

fn header() -> [u8; 128] {
    std::array::from_fn(|i| i as u8)
}

/// Vectors produced by:
/// ```python
/// m = bytes(range(32)); aid = bytes(range(0x10, 0x20))
/// h = lambda info, n: HKDF(hashes.SHA256(), n, aid, info).derive(m)
/// dk = h(b"hexz-v1 data", 32); kc = h(b"hexz-v1 key-check", 16)
/// aad = b"hexz-v1 block" + aid + struct.pack("<QIB", 4096, 5, 0) + b"\xaa" * 32
/// AESGCM(dk).encrypt(struct.pack("<Q", 4096) + b"\0" * 4, b"hello", aad)
/// ```
#[test]
fn construction_matches_an_independent_implementation() {
    let k = keys();
    assert_eq!(
        k.key_check().to_vec(),
        unhex("f4c00bda8255640c9028365f9a72d7dc")
    );
    let hash_key: [u8; 32] =
        unhex("08f24567a7691258f04be655a3dbe9c498c211aeb444794db559b1ef65c583b6")
            .try_into()
            .unwrap();
    assert_eq!(
        k.content_hash(b"hello"),
        *blake3::keyed_hash(&hash_key, b"hello").as_bytes()
    );

    let aad = BlockAad {
        stored_offset: 4096,
        raw_len: 5,
        codec: 0,
        content_hash: [0xaa; 32],
    };
    let mut buf = b"hello".to_vec();
    k.seal_block(&aad, &mut buf).unwrap();
    assert_eq!(buf, unhex("7d32493f8519961e364e57ab6fa80d19874316f6a7"));

    let h = header();
    let summary = FrameAad {
        offset: 9000,
        raw_len: 3,
        codec: 1,
        kind: 1,
        header: Some(&h),
    };
    let mut buf = b"abc".to_vec();
    k.seal_frame(&summary, &mut buf).unwrap();
    assert_eq!(buf, unhex("9473aa9425c67ca2fd0502931078bff34b7c24"));

    let entries = FrameAad {
        offset: 777,
        raw_len: 3,
        codec: 0,
        kind: 3,
        header: None,
    };
    let mut buf = b"xyz".to_vec();
    k.seal_frame(&entries, &mut buf).unwrap();
    assert_eq!(buf, unhex("de0418d82ba2fed01b56a04ffff2fb34bbd97a"));
}

fn block(offset: u64) -> BlockAad {
    BlockAad {
        stored_offset: offset,
        raw_len: 1000,
        codec: 1,
        content_hash: [7; 32],
    }
}

#[test]
fn round_trip_and_every_tamper_fails() {
    let k = keys();
    let plain: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
    let mut sealed = plain.clone();
    k.seal_block(&block(500), &mut sealed).unwrap();
    assert_eq!(sealed.len(), plain.len() + TAG_LEN);
    assert_ne!(&sealed[..plain.len()], &plain[..]);

    let mut out = vec![0u8; plain.len()];
    k.open_block(&block(500), &sealed, &mut out).unwrap();
    assert_eq!(out, plain);
    let mut inplace = sealed.clone();
    k.open_block_in_place(&block(500), &mut inplace).unwrap();
    assert_eq!(inplace, plain);

    // Every flipped bit of ciphertext or tag.
    for i in 0..sealed.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = sealed.clone();
            bad[i] ^= bit;
            let mut out = vec![0xEEu8; plain.len()];
            assert!(matches!(
                k.open_block(&block(500), &bad, &mut out),
                Err(Error::Authentication)
            ));
            assert!(out.iter().all(|&b| b == 0xEE), "no plaintext on failure");
        }
    }
    // Every field of the associated data.
    let others = [
        block(501),
        BlockAad {
            raw_len: 1001,
            ..block(500)
        },
        BlockAad {
            codec: 2,
            ..block(500)
        },
        BlockAad {
            content_hash: [8; 32],
            ..block(500)
        },
    ];
    for aad in others {
        let mut out = vec![0u8; plain.len()];
        assert!(matches!(
            k.open_block(&aad, &sealed, &mut out),
            Err(Error::Authentication)
        ));
    }
    // Truncated.
    let mut out = vec![0u8; plain.len() - 1];
    assert!(k
        .open_block(&block(500), &sealed[..sealed.len() - 1], &mut out)
        .is_err());
    let mut out = [0u8; 0];
    assert!(matches!(
        k.open_block(&block(500), &sealed[..10], &mut out),
        Err(Error::TooShort(10))
    ));
}

#[test]
fn frames_bind_kind_offset_and_header() {
    let k = keys();
    let h = header();
    let aad = FrameAad {
        offset: 1 << 40,
        raw_len: 4,
        codec: 0,
        kind: 1,
        header: Some(&h),
    };
    let mut sealed = b"data".to_vec();
    k.seal_frame(&aad, &mut sealed).unwrap();
    let mut out = [0u8; 4];
    k.open_frame(&aad, &sealed, &mut out).unwrap();
    assert_eq!(&out, b"data");
    let mut h2 = h;
    h2[40] ^= 1;
    for bad in [
        FrameAad { kind: 2, ..aad },
        FrameAad {
            offset: aad.offset + 1,
            ..aad
        },
        FrameAad {
            header: Some(&h2),
            ..aad
        },
        FrameAad {
            header: None,
            ..aad
        },
    ] {
        assert!(matches!(
            k.open_frame(&bad, &sealed, &mut out),
            Err(Error::Authentication)
        ));
    }
    // A frame sealed as a block (same offset) does not open as one, and vice versa.
    let b = BlockAad {
        stored_offset: aad.offset,
        raw_len: 4,
        codec: 0,
        content_hash: [0; 32],
    };
    assert!(k.open_block(&b, &sealed, &mut out).is_err());
}

#[test]
fn other_archive_or_key_cannot_open() {
    let k = keys();
    let mut sealed = b"secret block".to_vec();
    k.seal_block(&block(4096), &mut sealed).unwrap();
    let master = MasterKey::from_bytes(std::array::from_fn(|i| i as u8));
    // Same master key, another archive id: other keys.
    let other = ArchiveKeys::derive(&master, [0x42; 16]);
    let mut out = vec![0u8; sealed.len() - TAG_LEN];
    assert!(matches!(
        other.open_block(&block(4096), &sealed, &mut out),
        Err(Error::Authentication)
    ));
    assert_ne!(other.key_check(), k.key_check());
    assert!(matches!(
        other.check_key(&k.key_check()),
        Err(Error::WrongKey)
    ));
    assert!(k.check_key(&k.key_check()).is_ok());
    assert_ne!(other.content_hash(b"x"), k.content_hash(b"x"));
    // Another master key, same archive id.
    let wrong = ArchiveKeys::derive(&MasterKey::from_bytes([9; 32]), k.archive_id());
    assert!(matches!(
        wrong.check_key(&k.key_check()),
        Err(Error::WrongKey)
    ));
    // The content hash is keyed: not plain BLAKE3.
    assert_ne!(k.content_hash(b"x"), *blake3::hash(b"x").as_bytes());
    let mut h = k.content_hasher();
    h.update(b"x");
    assert_eq!(*h.finalize().as_bytes(), k.content_hash(b"x"));
}

#[test]
fn passphrases() {
    let salt = [5u8; 16];
    let p = KdfParams::testing();
    let a = MasterKey::from_passphrase(b"correct horse", &salt, &p).unwrap();
    let b = MasterKey::from_passphrase(b"correct horse", &salt, &p).unwrap();
    let c = MasterKey::from_passphrase(b"correct horsE", &salt, &p).unwrap();
    let d = MasterKey::from_passphrase(b"correct horse", &[6; 16], &p).unwrap();
    assert_eq!(a.as_bytes(), b.as_bytes());
    assert_ne!(a.as_bytes(), c.as_bytes());
    assert_ne!(a.as_bytes(), d.as_bytes());
    assert!(matches!(
        MasterKey::from_passphrase(b"", &salt, &p),
        Err(Error::InvalidKey(_))
    ));
    for bad in [
        KdfParams {
            m_cost: 7,
            t_cost: 1,
            p: 1,
        },
        KdfParams {
            m_cost: 64,
            t_cost: 0,
            p: 1,
        },
        KdfParams {
            m_cost: 64,
            t_cost: 1,
            p: 0,
        },
        KdfParams {
            m_cost: 64,
            t_cost: 1,
            p: 9,
        },
        KdfParams {
            m_cost: KdfParams::MAX_M_COST + 1,
            t_cost: 1,
            p: 1,
        },
        KdfParams {
            m_cost: 64,
            t_cost: KdfParams::MAX_T_COST + 1,
            p: 1,
        },
    ] {
        assert!(
            matches!(
                MasterKey::from_passphrase(b"x", &salt, &bad),
                Err(Error::KdfParams(_))
            ),
            "{bad:?}"
        );
    }
    assert!(KdfParams::DEFAULT.validate().is_ok());
    assert!(KdfParams::DEFAULT.meets_owasp_minimum());
    assert!(!KdfParams::testing().meets_owasp_minimum());
}

#[test]
fn key_files_and_hex() {
    let k = MasterKey::generate();
    let text = k.to_key_file();
    assert_eq!(text.len(), 65);
    assert!(text.ends_with('\n'));
    assert_eq!(
        MasterKey::parse_key_file(text.as_bytes())
            .unwrap()
            .as_bytes(),
        k.as_bytes()
    );
    let crlf = format!("{}\r\n", text.trim_end());
    assert_eq!(
        MasterKey::parse_key_file(crlf.as_bytes())
            .unwrap()
            .as_bytes(),
        k.as_bytes()
    );
    let upper = text.to_uppercase();
    assert_eq!(
        MasterKey::from_hex(&upper).unwrap().as_bytes(),
        k.as_bytes()
    );
    // 32 raw bytes.
    assert_eq!(
        MasterKey::parse_key_file(k.as_bytes()).unwrap().as_bytes(),
        k.as_bytes()
    );
    for bad in [
        &b""[..],
        b"abcd\n",
        &[0u8; 31],
        &[0u8; 33],
        &text.as_bytes()[..63],
        b"zz00000000000000000000000000000000000000000000000000000000000000\n",
        b"00000000000000000000000000000000000000000000000000000000000000000\n",
    ] {
        assert!(matches!(
            MasterKey::parse_key_file(bad),
            Err(Error::InvalidKey(_))
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    std::fs::write(&path, text.as_bytes()).unwrap();
    assert_eq!(
        MasterKey::read_key_file(&path).unwrap().as_bytes(),
        k.as_bytes()
    );
    assert!(matches!(
        MasterKey::read_key_file(&dir.path().join("missing")),
        Err(Error::Io { .. })
    ));
    // Debug output never shows the key.
    let shown = format!("{k:?}");
    assert!(!shown.contains(&text.trim_end()[..8]));
    assert_ne!(MasterKey::generate().as_bytes(), k.as_bytes());
}
