//! The `open_read` and `open_read_encrypted` fuzz targets on stable Rust: their kept corpora,
//! the golden fixtures, and time-bounded mutations of both (see `hexz_testkit::replay`).
#![allow(clippy::unwrap_used)]

mod common;

use hexz_testkit::replay::{fixtures, replay};

#[test]
fn open_read() {
    let report = replay("open_read", &fixtures(), |data| {
        let _ = common::open_read::exercise(data);
    });
    assert!(report.mutations > 0, "{report:?}");
}

#[cfg(feature = "encryption")]
#[test]
fn open_read_encrypted() {
    /// `tests/fixtures/v1/encrypted-raw-key.key`, as in the fuzz target.
    const KEY: [u8; 32] = [
        0x8f, 0x2a, 0x4c, 0x6e, 0x0b, 0x1d, 0x3f, 0x5a, 0x7c, 0x9e, 0x2b, 0x4d, 0x6f, 0x8a, 0x0c,
        0x1e, 0x3b, 0x5d, 0x7f, 0x9a, 0x2c, 0x4e, 0x6b, 0x8d, 0x0f, 0x1a, 0x3c, 0x5e, 0x7b, 0x9d,
        0x2f, 0x40,
    ];
    let report = replay("open_read_encrypted", &fixtures(), |data| {
        let _ = common::open_read::exercise_with(data, Some(hexz_core::KeySource::RawKey(KEY)));
    });
    assert!(report.mutations > 0, "{report:?}");
}
