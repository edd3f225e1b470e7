//! Damaged and crafted footers: every flipped byte, and fields rewritten with a valid crc.

use crate::common::fix_footer_crc;
use crate::util::{flip, format_err, open, rich, small};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::Error as F;

type Check = fn(&F) -> bool;

#[test]
fn every_flipped_footer_byte() {
    let f = rich();
    let base = (f.bytes.len() - FOOTER_LEN) as u64;
    for i in 0..FOOTER_LEN as u64 {
        for mask in [0x01u8, 0x80] {
            let e = format_err(open(&flip(&f.bytes, base + i, mask)), "footer");
            let ok = match i {
                18..20 | 32..48 => matches!(e, F::Reserved { what: "footer" }),
                48..50 => matches!(e, F::UnsupportedVersion { supported: 2, .. }),
                50..52 => matches!(
                    e,
                    F::Invalid {
                        what: "footer_len",
                        ..
                    }
                ),
                56..64 => e == F::BadMagic { what: "footer" },
                _ => matches!(e, F::Checksum { what: "footer", .. }),
            };
            assert!(ok, "footer byte {i} ^ {mask:#x}: {e:?}");
        }
    }
}

#[test]
fn crc_fixed_footer_fields() {
    let f = small();
    let n = f.bytes.len();
    let cases: [(usize, &[u8], Check); 5] = [
        // summary_codec = zero
        (16, &[3], |e| {
            matches!(
                e,
                F::Invalid {
                    what: "summary codec",
                    ..
                }
            )
        }),
        // summary_codec = 9
        (16, &[9], |e| matches!(e, F::Invalid { what: "codec", .. })),
        // unknown flag bit
        (17, &[2], |e| {
            matches!(
                e,
                F::Reserved {
                    what: "footer flags"
                }
            )
        }),
        // signed, but no signature offset
        (17, &[1], |e| {
            matches!(
                e,
                F::OutOfBounds {
                    what: "summary",
                    ..
                }
            )
        }),
        // signature offset without the flag
        (24, &[1], |e| {
            matches!(
                e,
                F::Invalid {
                    what: "signature_offset",
                    ..
                }
            )
        }),
    ];
    for (at, val, ok) in cases {
        let mut m = f.bytes.clone();
        let at = n - FOOTER_LEN + at;
        m[at..at + val.len()].copy_from_slice(val);
        fix_footer_crc(&mut m);
        let e = format_err(open(&m), "footer field");
        assert!(
            ok(&e),
            "footer byte {} = {val:?}: {e:?}",
            at + FOOTER_LEN - n
        );
    }
}
