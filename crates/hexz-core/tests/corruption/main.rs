//! Corrupt, truncated and crafted archives: each is refused with a specific error, and never
//! makes the engine panic, hang or return wrong bytes (`docs/FORMAT.md` §12, §14).
//!
//! Crafted inputs are built with valid checksums (see `common::Surgery`) so that only the
//! check under test can catch them.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod util;

mod absurd_sizes;
mod blocks;
mod every_byte;
mod footer;
mod frames;
mod header;
mod mutations;
mod room_to_grow;
mod spec_rules;
mod truncation;

use common::open_read::exercise;
use hexz_core::verify::verify;
use hexz_testkit::data::mixed_data;
use util::{open, rich, small};

#[test]
fn fixtures_are_sane() {
    let r = rich();
    let a = open(&r.bytes).unwrap();
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
    let s = small();
    let o = exercise(&s.bytes);
    assert!(o.verified, "{:?}", o.first_error);
    assert!(mixed_data(1, 10).len() == 10);
}
