//! Format v2's room to grow (`docs/FORMAT.md` §7.5, §10): extension rows a reader skips
//! unless critical, and signature blocks that say their own length.

use crate::common::Surgery;
use crate::util::{open, small};
use hexz_core::sign::{sign_file, SigningKey};
use hexz_core::verify::verify;
use hexz_core::{Error, ReadOptions};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::{ExtensionRef, FrameKind};

/// `small()` with one extension row of type `kind` holding `body`.
fn with_extension(kind: u16, critical: bool, body: &[u8]) -> (Vec<u8>, ExtensionRef) {
    let mut s = Surgery::new(&small().bytes);
    assert_eq!(s.header.version, 2, "hexz writes format v2");
    let frame = s.append_frame(body);
    let row = ExtensionRef {
        kind,
        critical,
        frame,
    };
    s.summary.extensions.push(row);
    (s.finish(), row)
}

#[test]
fn an_unknown_extension_is_skipped_unless_critical() {
    let f = small();
    let (bytes, row) = with_extension(700, false, b"a later writer's table");
    let a = open(&bytes).unwrap();
    assert_eq!(a.summary().extensions, vec![row]);
    assert!(a.read_vec(0, f.logical.len()).unwrap() == f.logical);
    // Its bytes are covered: by the summary's hash of the frame, and by verify.
    let report = verify(&a, &|_| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let mut flipped = bytes.clone();
    flipped[row.frame.offset as usize] ^= 1;
    let report = verify(&open(&flipped).unwrap(), &|_| {}).unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("extension 700")),
        "{:?}",
        report.problems
    );

    let (bytes, _) = with_extension(700, true, b"needed to read correctly");
    match open(&bytes) {
        Err(Error::Unsupported(m)) => assert!(m.contains("extension type 700"), "{m}"),
        other => panic!("expected Unsupported, got {:?}", other.err()),
    }
}

#[test]
fn extension_rows_are_sorted_and_unique() {
    for kinds in [[5u16, 5], [6, 5]] {
        let mut s = Surgery::new(&small().bytes);
        for kind in kinds {
            let frame = s.append_frame(b"x");
            s.summary.extensions.push(ExtensionRef {
                kind,
                critical: false,
                frame,
            });
        }
        let e = crate::util::format_err(open(&s.finish()), "extension order");
        assert!(matches!(e, hexz_format::Error::Inconsistent(_)), "{e:?}");
    }
    assert_eq!(FrameKind::Extension as u8, 8);
}

/// A v2 signature block of an algorithm this build does not know, 200 bytes long.
fn foreign_signature(bytes: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.hxz");
    std::fs::write(&path, bytes).unwrap();
    sign_file(&path, &SigningKey::from_seed(&[3; 32])).unwrap();
    let signed = std::fs::read(&path).unwrap();
    let footer = signed[signed.len() - FOOTER_LEN..].to_vec();
    let at = signed.len() - FOOTER_LEN - 144;
    let mut block = b"HXZSIG01".to_vec();
    block.push(42); // algorithm
    block.extend_from_slice(&[0; 3]);
    block.extend_from_slice(&200u32.to_le_bytes());
    block.resize(200, 0xA5);
    let mut out = signed[..at].to_vec();
    out.extend_from_slice(&block);
    out.extend_from_slice(&footer); // signature_offset is unchanged: the block starts there
    out
}

#[test]
fn a_signature_of_an_unknown_algorithm_is_skipped_and_reported() {
    let f = small();
    let bytes = foreign_signature(&f.bytes);
    let a = open(&bytes).unwrap();
    assert!(a.signature().is_none());
    assert!(a.read_vec(0, f.logical.len()).unwrap() == f.logical);
    let report = verify(&a, &|_| {}).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("cannot be checked")),
        "{:?}",
        report.problems
    );
    // With a public key to check it with: refused, saying why.
    let opts = ReadOptions {
        verify_key: Some(SigningKey::from_seed(&[3; 32]).verifying_key()),
        ..Default::default()
    };
    match crate::common::open_mem(&bytes, opts) {
        Err(Error::Unsupported(m)) => assert!(m.contains("algorithm"), "{m}"),
        other => panic!("expected Unsupported, got {:?}", other.err()),
    }
    // A block whose length disagrees with where the footer is: refused.
    let mut wrong = bytes.clone();
    let at = bytes.len() - FOOTER_LEN - 200;
    wrong[at + 12..at + 16].copy_from_slice(&199u32.to_le_bytes());
    assert!(open(&wrong).is_err());
}
