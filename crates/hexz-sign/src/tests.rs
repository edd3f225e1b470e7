use super::*;
use ed25519_dalek::Signer;
use hexz_format::signature::Signature;

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect();
    v.try_into().expect("length")
}

/// RFC 8032 §7.1, tests 1–3: (secret key, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str); 3] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

#[test]
fn rfc8032_vectors() {
    for (sk, pk, msg, sig) in RFC8032 {
        let key = SigningKey::from_seed(&unhex(sk));
        assert_eq!(key.verifying_key().to_hex(), pk);
        let msg: Vec<u8> = (0..msg.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&msg[i..i + 2], 16).expect("hex"))
            .collect();
        let s = key.0.sign(&msg);
        assert_eq!(s.to_bytes(), unhex::<64>(sig));
        let vk = VerifyingKey::parse(pk).expect("public key");
        vk.0.verify_strict(&msg, &s).expect("verifies");
    }
}

/// The signed message is the domain prefix and the root hash: pinned so that a change to
/// either is caught (Ed25519 is deterministic).
#[test]
fn root_signature_known_answer() {
    let key = SigningKey::from_seed(&unhex(RFC8032[0].0));
    let root = [0x5a; 32];
    let sig = key.sign_root(&root);
    assert_eq!(sig.public_key, unhex(RFC8032[0].1));
    assert_eq!(sig.root_hash, root);
    let mut msg = b"hexz-v1 signature".to_vec();
    msg.extend_from_slice(&root);
    assert_eq!(sig.signature, key.0.sign(&msg).to_bytes());
    key.verifying_key().verify(&sig, &root).expect("verifies");
    assert_eq!(
        verify_self_signed(&sig, &root).expect("self"),
        key.verifying_key()
    );
}

#[test]
fn every_changed_byte_fails() {
    let key = SigningKey::generate();
    let root = [7u8; 32];
    let sig = key.sign_root(&root);
    let vk = key.verifying_key();
    for i in 0..64 {
        let mut bad = sig.clone();
        bad.signature[i] ^= 1;
        assert!(matches!(
            vk.verify(&bad, &root),
            Err(Error::BadSignature(_))
        ));
    }
    for i in 0..32 {
        let mut other = root;
        other[i] ^= 0x80;
        assert!(vk.verify(&sig, &other).is_err());
        let mut bad = sig.clone();
        bad.root_hash[i] ^= 0x80;
        assert!(vk.verify(&bad, &root).is_err());
        let mut bad = sig.clone();
        bad.public_key[i] ^= 0x80;
        assert!(vk.verify(&bad, &root).is_err());
        assert!(verify_self_signed(&bad, &root).is_err());
    }
    let other = SigningKey::generate().verifying_key();
    let err = other.verify(&sig, &root).expect_err("wrong key");
    assert!(err.to_string().contains("not by the expected key"), "{err}");
}

#[test]
fn pem_round_trip_and_hex() {
    let key = SigningKey::generate();
    let pem = key.to_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = SigningKey::from_pem(&pem).expect("parse");
    assert_eq!(back.verifying_key(), key.verifying_key());
    let vk = key.verifying_key();
    assert!(vk.to_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(VerifyingKey::parse(&vk.to_pem()).expect("pem"), vk);
    assert_eq!(VerifyingKey::parse(&vk.to_hex()).expect("hex"), vk);
    assert_eq!(
        VerifyingKey::parse(&format!("  {}\n", vk.to_hex().to_uppercase())).expect("hex"),
        vk
    );
}

#[test]
fn bad_keys_are_named() {
    let cases = [
        ("", "64 hex digits"),
        ("abc", "64 hex digits"),
        (&"zz".repeat(32), "64 hex digits"),
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "PEM",
        ),
    ];
    for (text, want) in cases {
        let e = VerifyingKey::parse(text).expect_err(text);
        assert!(e.to_string().contains(want), "{text:?}: {e}");
    }
    let key = SigningKey::generate();
    let e = VerifyingKey::parse(&key.to_pem().expect("pem")).expect_err("private as public");
    assert!(e.to_string().contains("private key"), "{e}");
    let e = SigningKey::from_pem(&key.verifying_key().to_pem()).expect_err("public as private");
    assert!(e.to_string().contains("public key"), "{e}");
    let e = SigningKey::from_pem("hello").expect_err("garbage");
    assert!(e.to_string().contains("PKCS#8"), "{e}");
}

#[test]
fn keygen_writes_private_key_0600_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, files) = keygen(dir.path(), "release").expect("keygen");
    assert_eq!(files.private, dir.path().join("release.key"));
    assert_eq!(files.public, dir.path().join("release.pub"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files.private)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let sk = SigningKey::read_file(&files.private).expect("read private");
    let vk = VerifyingKey::read_file(&files.public).expect("read public");
    assert_eq!(sk.verifying_key(), key.verifying_key());
    assert_eq!(vk, key.verifying_key());

    let before = std::fs::read(&files.private).expect("read");
    let e = keygen(dir.path(), "release").expect_err("exists");
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert_eq!(std::fs::read(&files.private).expect("read"), before);

    // The public file exists but not the private one: nothing is left half-written.
    std::fs::write(dir.path().join("half.pub"), "x").expect("write");
    keygen(dir.path(), "half").expect_err("pub exists");
    assert!(!dir.path().join("half.key").exists());
    assert!(keygen(dir.path(), "a/b").is_err());
}

#[test]
fn key_files_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.pub");
    let e = VerifyingKey::read_file(&missing).expect_err("missing");
    assert!(e.to_string().contains("missing.pub"), "{e}");
    let big = dir.path().join("big.pub");
    std::fs::write(&big, vec![b'a'; 10_000]).expect("write");
    let e = VerifyingKey::read_file(&big).expect_err("big");
    assert!(e.to_string().contains("too large"), "{e}");
    let bin = dir.path().join("bin.key");
    std::fs::write(&bin, [0xffu8; 32]).expect("write");
    let e = SigningKey::read_file(&bin).expect_err("binary");
    assert!(e.to_string().contains("text"), "{e}");
}

/// Keys from OpenSSL read here, and signatures made here verify in OpenSSL.
#[test]
fn openssl_interoperates() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("openssl not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["genpkey", "-algorithm", "ed25519", "-out", "o.key"]);
    run(&["pkey", "-in", "o.key", "-pubout", "-out", "o.pub"]);
    let sk = SigningKey::read_file(&dir.path().join("o.key")).expect("openssl private key");
    let vk = VerifyingKey::read_file(&dir.path().join("o.pub")).expect("openssl public key");
    assert_eq!(sk.verifying_key(), vk);
    let root = [3u8; 32];
    let sig = sk.sign_root(&root);
    std::fs::write(dir.path().join("msg"), Signature::message(&root)).expect("write");
    std::fs::write(dir.path().join("sig"), sig.signature).expect("write");
    let ok = run(&[
        "pkeyutl", "-verify", "-pubin", "-inkey", "o.pub", "-rawin", "-in", "msg", "-sigfile",
        "sig",
    ]);
    assert!(String::from_utf8_lossy(&ok).contains("Signature Verified Successfully"));
}

/// `docs/keys.md`, "Spellings": hex in either case, PEM with LF or CRLF line endings, and
/// surrounding whitespace ignored; written lowercase and with LF.
#[test]
fn key_spellings() {
    let key = SigningKey::from_seed(&unhex(RFC8032[0].0));
    let public = key.verifying_key();
    let hex = public.to_hex();
    assert_eq!(hex, hex.to_lowercase());
    for text in [hex.to_uppercase(), format!("  {hex}\r\n")] {
        assert_eq!(VerifyingKey::parse(&text).expect("hex").to_hex(), hex);
    }
    let pem = public.to_pem();
    assert!(!pem.contains('\r'));
    let crlf = pem.replace('\n', "\r\n");
    assert_eq!(VerifyingKey::parse(&crlf).expect("CRLF PEM").to_hex(), hex);
    let private = key.to_pem().expect("pem");
    assert!(!private.contains('\r'));
    let crlf = private.replace('\n', "\r\n");
    let back = SigningKey::from_pem(&crlf).expect("CRLF private PEM");
    assert_eq!(back.verifying_key().to_hex(), hex);
}
