//! Every byte of a small archive flipped in turn: open, full read, tables and verify either
//! fail or return exactly the original content. Every byte is covered by a checksum, so every
//! flip must in fact be detected.

use crate::common::open_read::exercise;
use crate::util::{flip, small};

#[test]
fn flipped_bytes_are_detected_never_misread() {
    let f = small();
    let orig = exercise(&f.bytes);
    assert!(orig.verified && !orig.detected, "{:?}", orig.first_error);
    assert!(orig.logical.as_deref() == Some(&f.logical[..]));
    let mut undetected = Vec::new();
    for i in 0..f.bytes.len() {
        let mask = [0x01u8, 0x80, 0xFF, 0x10][i % 4];
        let o = exercise(&flip(&f.bytes, i as u64, mask));
        if !o.detected {
            assert!(o.logical == orig.logical, "byte {i}: wrong logical bytes");
            assert!(o.entries == orig.entries, "byte {i}: wrong entries");
            assert!(o.metadata == orig.metadata, "byte {i}: wrong metadata");
            assert!(o.records == orig.records, "byte {i}: wrong records");
            undetected.push(i);
        }
    }
    assert!(undetected.is_empty(), "undetected flips at {undetected:?}");
}
