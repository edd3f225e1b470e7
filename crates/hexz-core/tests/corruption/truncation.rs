//! Archives cut at every structural boundary and at every byte: refused, never misread.

use crate::util::{format_err, layout, open, rich, small};
use hexz_core::{Error, Part};
use hexz_format::footer::FOOTER_LEN;
use hexz_format::header::HEADER_LEN;
use hexz_format::{Codec, Error as F};

fn expect_refused(bytes: &[u8], len: usize, ctx: &str) {
    let opened = open(&bytes[..len]);
    // Where, as data: the file as a whole when it is too short to be an archive, else its
    // footer.
    let Err(Error::Format { place, .. }) = &opened else {
        panic!("{ctx}: expected Error::Format, got {:?}", opened.err());
    };
    let part = match len < HEADER_LEN + FOOTER_LEN {
        true => Part::Whole,
        false => Part::Footer,
    };
    assert_eq!(place.part, part, "{ctx}");
    let e = format_err(opened, ctx);
    if len < HEADER_LEN + FOOTER_LEN {
        assert!(
            matches!(
                e,
                F::Truncated {
                    what: "archive",
                    ..
                }
            ),
            "{ctx}: {e:?}"
        );
    } else {
        assert_eq!(e, F::BadMagic { what: "footer" }, "{ctx}");
    }
}

fn boundaries(bytes: &[u8]) -> Vec<u64> {
    let l = layout(bytes);
    let len = bytes.len() as u64;
    let mut points = vec![0, 1, 64, 127, 128, 129, 191, 192, 193];
    for b in &l.blocks {
        if b.codec != Codec::Zero {
            points.extend([b.stored_offset, b.stored_offset + b.stored_len as u64]);
        }
    }
    for (_, f) in &l.frames {
        points.extend([f.offset, f.offset + f.stored_len as u64]);
    }
    points.extend([l.summary_offset, l.summary_offset + l.summary_len, len - 64]);
    let mut all: Vec<u64> = points
        .iter()
        .flat_map(|&p| [p.saturating_sub(1), p, p + 1])
        .filter(|&p| p < len)
        .collect();
    all.push(len - 1);
    all.sort_unstable();
    all.dedup();
    all
}

#[test]
fn at_every_structural_boundary() {
    let f = rich();
    let points = boundaries(&f.bytes);
    assert!(points.len() > 50, "{} boundaries", points.len());
    for len in points {
        expect_refused(&f.bytes, len as usize, &format!("truncated to {len}"));
    }
}

#[test]
fn at_every_byte_of_the_last_400() {
    let f = rich();
    let n = f.bytes.len();
    for len in n - 400..n {
        expect_refused(&f.bytes, len, &format!("truncated to {len} of {n}"));
    }
}

#[test]
fn at_every_byte_of_a_small_archive() {
    let f = small();
    for len in 0..f.bytes.len() {
        expect_refused(&f.bytes, len, &format!("truncated to {len}"));
    }
}

/// A lost middle: the file is cut but still ends with the original footer.
#[test]
fn cut_before_an_intact_footer() {
    let f = rich();
    let footer = &f.bytes[f.bytes.len() - FOOTER_LEN..];
    for cut in boundaries(&f.bytes) {
        let cut = cut as usize;
        if cut + FOOTER_LEN >= f.bytes.len() {
            continue;
        }
        let m = [&f.bytes[..cut], footer].concat();
        let e = format_err(open(&m), &format!("cut at {cut} + footer"));
        if m.len() < HEADER_LEN + FOOTER_LEN {
            assert!(matches!(e, F::Truncated { .. }), "cut at {cut}: {e:?}");
        } else if cut < HEADER_LEN {
            assert_eq!(e, F::BadMagic { what: "header" }, "cut at {cut}");
        } else {
            assert!(
                matches!(
                    e,
                    F::OutOfBounds {
                        what: "summary",
                        ..
                    }
                ),
                "cut at {cut}: {e:?}"
            );
        }
    }
}
