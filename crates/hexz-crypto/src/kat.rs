//! Known-answer tests of the primitives, from their specifications: Argon2id (RFC 9106),
//! HKDF-SHA256 (RFC 5869) and AES-256-GCM (NIST CAVS, the GCM specification).

#![allow(clippy::unwrap_used)]
use crate::kdf::{argon2id, KdfParams};
use crate::key::hkdf_sha256;
use aes_gcm::aead::array::Array;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 9106 §5.3: the Argon2id test vector (with secret and associated data).
#[test]
fn argon2id_rfc9106_vector() {
    let mut out = [0u8; 32];
    let params = KdfParams {
        m_cost: 32,
        t_cost: 3,
        p: 4,
    };
    argon2id(&[1; 32], &[2; 16], &params, &[3; 8], &[4; 12], &mut out).unwrap();
    assert_eq!(
        out.to_vec(),
        unhex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
    );
}

/// RFC 5869 Appendix A.1 (test case 1, SHA-256).
#[test]
fn hkdf_rfc5869_case1() {
    let mut okm = [0u8; 42];
    hkdf_sha256(
        &[0x0b; 22],
        &unhex("000102030405060708090a0b0c"),
        &unhex("f0f1f2f3f4f5f6f7f8f9"),
        &mut okm,
    );
    assert_eq!(
        okm.to_vec(),
        unhex(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        )
    );
}

/// RFC 5869 Appendix A.2 (test case 2, long inputs).
#[test]
fn hkdf_rfc5869_case2() {
    let ikm: Vec<u8> = (0x00..=0x4f).collect();
    let salt: Vec<u8> = (0x60..=0xaf).collect();
    let info: Vec<u8> = (0xb0..=0xff).collect();
    let mut okm = [0u8; 82];
    hkdf_sha256(&ikm, &salt, &info, &mut okm);
    assert_eq!(
        okm.to_vec(),
        unhex(
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c
             59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71
             cc30c58179ec3e87c14c01d5c1f3434f1d87"
        )
    );
}

fn gcm_kat(key: &str, nonce: &str, pt: &str, aad: &str, ct_tag: &str) {
    let aead = Aes256Gcm::new(&Array::try_from(unhex(key).as_slice()).unwrap());
    let nonce = Array::try_from(unhex(nonce).as_slice()).unwrap();
    let mut buf = unhex(pt);
    let tag = aead
        .encrypt_inout_detached(&nonce, &unhex(aad), buf.as_mut_slice().into())
        .unwrap();
    buf.extend_from_slice(&tag);
    assert_eq!(buf, unhex(ct_tag));
}

/// NIST CAVS gcmEncryptExtIV256.rsp (128-bit plaintext and AAD) and test case 16 of the
/// GCM specification (McGrew and Viega), both AES-256-GCM with a 96-bit IV.
#[test]
fn aes256gcm_nist_vectors() {
    gcm_kat(
        "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
        "ac93a1a6145299bde902f21a",
        "2d71bcfa914e4ac045b2aa60955fad24",
        "1e0889016f67601c8ebea4943bc23ad6",
        "8995ae2e6df3dbf96fac7b7137bae67f eca5aa77d51d4a0a14d9c51e1da474ab",
    );
    gcm_kat(
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
         1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
         8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
         76fc6ece0f4e1768cddf8853bb2d551b",
    );
}
