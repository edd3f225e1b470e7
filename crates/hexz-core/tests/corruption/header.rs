//! Damaged and crafted headers: magic, versions, feature bits, reserved and invalid fields.

use crate::common::{fix_footer_crc, fix_header_crc};
use crate::util::{flip, format_err, open, rich, small};
use hexz_core::verify::verify;
use hexz_format::header::HEADER_LEN;
use hexz_format::Error as F;
use hexz_testkit::Rng;

#[test]
fn every_flipped_header_byte() {
    let f = rich();
    for i in 0..HEADER_LEN as u64 {
        for mask in [0x01u8, 0x80, 0xFF] {
            let e = format_err(open(&flip(&f.bytes, i, mask)), &format!("header byte {i}"));
            let ok = match i {
                0..8 => e == F::BadMagic { what: "header" },
                8..10 => matches!(e, F::UnsupportedVersion { supported: 2, .. }),
                10..12 => matches!(
                    e,
                    F::Invalid {
                        what: "header_len",
                        ..
                    }
                ),
                _ => matches!(e, F::Checksum { what: "header", .. }),
            };
            assert!(ok, "header byte {i} ^ {mask:#x}: {e:?}");
        }
    }
}

#[test]
fn wrong_magic() {
    let f = small();
    let mut zip = b"PK\x03\x04".to_vec();
    zip.resize(f.bytes.len(), 0);
    let mut no_magic = f.bytes.clone();
    no_magic[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let random = Rng::new(4).bytes(10_000);
    for (name, bytes) in [("zip", zip), ("png magic", no_magic), ("random", random)] {
        assert_eq!(
            format_err(open(&bytes), name),
            F::BadMagic { what: "header" },
            "{name}"
        );
    }
    let mut bad_footer_magic = f.bytes.clone();
    let n = bad_footer_magic.len();
    bad_footer_magic[n - 1] = b'X';
    assert_eq!(
        format_err(open(&bad_footer_magic), "footer magic"),
        F::BadMagic { what: "footer" }
    );
    assert!(matches!(
        format_err(open(&[]), "empty"),
        F::Truncated {
            what: "archive",
            have: 0,
            ..
        }
    ));
}

#[test]
fn future_version() {
    for v in [3u16, 0, 0xFFFF] {
        let mut m = small().bytes.clone();
        m[8..10].copy_from_slice(&v.to_le_bytes());
        fix_header_crc(&mut m);
        assert_eq!(
            format_err(open(&m), "version"),
            F::UnsupportedVersion {
                found: v,
                supported: 2
            }
        );
    }
    // A version this reader knows, but not the footer's: refused, naming both.
    let mut m = small().bytes.clone();
    m[8..10].copy_from_slice(&1u16.to_le_bytes());
    fix_header_crc(&mut m);
    let e = format_err(open(&m), "version mismatch");
    assert!(
        matches!(&e, F::Inconsistent(m) if m.contains("version 1") && m.contains("footer 2")),
        "{e:?}"
    );
}

#[test]
fn future_footer_version() {
    let mut m = small().bytes.clone();
    let n = m.len();
    m[n - 16..n - 14].copy_from_slice(&3u16.to_le_bytes());
    fix_footer_crc(&mut m);
    assert_eq!(
        format_err(open(&m), "footer version"),
        F::UnsupportedVersion {
            found: 3,
            supported: 2
        }
    );
}

fn with_required(bits: u64) -> Vec<u8> {
    let mut m = small().bytes.clone();
    let old = u64::from_le_bytes(m[16..24].try_into().unwrap());
    m[16..24].copy_from_slice(&(old | bits).to_le_bytes());
    fix_header_crc(&mut m);
    m
}

#[test]
fn unknown_required_feature() {
    for (bits, lowest) in [
        (1u64 << 3, 3),
        (1 << 17, 17),
        (1 << 63, 63),
        (1 << 9 | 1 << 40, 9),
    ] {
        assert_eq!(
            format_err(open(&with_required(bits)), "feature"),
            F::UnknownFeature { bit: lowest }
        );
    }
}

#[test]
fn the_thin_bit_without_parents_is_inconsistent() {
    let e = format_err(
        open(&with_required(hexz_format::RequiredFeatures::THIN)),
        "without parents",
    );
    assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
}

#[test]
fn encrypted_bit_without_cipher() {
    let e = format_err(
        open(&with_required(hexz_format::RequiredFeatures::ENCRYPTED)),
        "encrypted",
    );
    assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
}

#[test]
fn unknown_optional_feature_is_ignored() {
    let f = small();
    let mut m = f.bytes.clone();
    m[24..32].copy_from_slice(&(1u64 << 40 | 1).to_le_bytes());
    fix_header_crc(&mut m);
    let a = open(&m).unwrap();
    assert!(a.read_vec(0, f.logical.len()).unwrap() == f.logical);
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
}

#[test]
fn reserved_header_fields() {
    for at in [50usize, 51, 100, 123] {
        let mut m = small().bytes.clone();
        m[at] = 1;
        fix_header_crc(&mut m);
        assert!(
            matches!(format_err(open(&m), "reserved"), F::Reserved { .. }),
            "byte {at}"
        );
    }
    // kdf parameters and key_check must be zero without encryption.
    for at in [52usize, 64, 80] {
        let mut m = small().bytes.clone();
        m[at] = 1;
        fix_header_crc(&mut m);
        assert!(
            matches!(format_err(open(&m), "kdf"), F::Reserved { .. }),
            "byte {at}"
        );
    }
}

#[test]
fn invalid_header_fields() {
    for (bs, name) in [
        (1000u32, "not a power of two"),
        (2048, "too small"),
        (32 << 20, "too big"),
    ] {
        let mut m = small().bytes.clone();
        m[12..16].copy_from_slice(&bs.to_le_bytes());
        fix_header_crc(&mut m);
        assert!(
            matches!(
                format_err(open(&m), name),
                F::Invalid {
                    what: "block_size",
                    ..
                }
            ),
            "{name}"
        );
    }
    for (at, what) in [(48usize, "cipher"), (49, "kdf")] {
        let mut m = small().bytes.clone();
        m[at] = 9;
        fix_header_crc(&mut m);
        let e = format_err(open(&m), what);
        assert!(
            matches!(e, F::Invalid { what: w, .. } if w == what),
            "{e:?}"
        );
    }
}
