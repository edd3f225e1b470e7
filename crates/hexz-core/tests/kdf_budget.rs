//! A passphrase's Argon2id is bounded by the reader's own budget (`HEXZ_KDF_MAX_MIB`, 1 GiB by
//! default), below the spec's limits: a crafted header at the spec's maximum is refused at
//! once instead of costing minutes and gigabytes before the key check fails (README,
//! "Encryption").
//! One test in its own binary, since it sets an environment variable.
#![cfg(feature = "encryption")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{build, fix_header_crc, open_mem, quiet_opts};
use hexz_core::{
    Compression, Encryption, EntryMeta, KdfParams, KeySource, ReadOptions, WriteOptions,
};
use std::time::Instant;

const PASSPHRASE: &str = "correct horse battery staple";

#[test]
fn the_kdf_budget_refuses_costly_headers_at_once() {
    let opts = WriteOptions {
        compression: Compression::Lz4,
        encryption: Some(Encryption::passphrase(PASSPHRASE).with_kdf(KdfParams::testing())),
        ..WriteOptions::default()
    };
    let bytes = build(opts, |w| {
        w.add_bytes("a.txt", b"hello", EntryMeta::default())
    })
    .unwrap();
    let read = || ReadOptions {
        key: Some(KeySource::Passphrase(PASSPHRASE.into())),
        ..quiet_opts()
    };
    open_mem(&bytes, read()).expect("cheap parameters open");

    // The spec's maximum: 2 GiB and 64 passes (header bytes 52..60), crc fixed.
    let mut costly = bytes.clone();
    costly[52..56].copy_from_slice(&2_097_152u32.to_le_bytes());
    costly[56..60].copy_from_slice(&64u32.to_le_bytes());
    fix_header_crc(&mut costly);
    let t = Instant::now();
    let err = open_mem(&costly, read()).err().expect("refused");
    assert!(t.elapsed().as_secs_f64() < 1.0, "{:?}", t.elapsed());
    let msg = err.to_string();
    assert!(msg.contains("2048 MiB and 64 passes"), "{msg}");
    assert!(msg.contains("HEXZ_KDF_MAX_MIB"), "{msg}");

    // The budget is the user's: lowered, even the cheap header is refused; a bad value is an
    // error that names the variable.
    std::env::set_var("HEXZ_KDF_MAX_MIB", "0");
    let err = open_mem(&bytes, read()).err().expect("over a zero budget");
    assert!(err.to_string().contains("budget of 0 MiB"), "{err}");
    std::env::set_var("HEXZ_KDF_MAX_MIB", "lots");
    let err = open_mem(&bytes, read()).err().expect("bad value");
    assert!(err.to_string().contains("HEXZ_KDF_MAX_MIB"), "{err}");
    std::env::remove_var("HEXZ_KDF_MAX_MIB");
    open_mem(&bytes, read()).expect("back to the default budget");
}
