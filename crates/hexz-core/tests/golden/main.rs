//! Golden fixtures of format v1 (`tests/fixtures/v1/`), committed once and never regenerated:
//! every future reader must read them exactly as described by `expected.json`.
//!
//! `generate_fixtures` wrote them (`cargo test -p hexz-core --test golden -- --ignored
//! generate_fixtures`); it does nothing while `expected.json` exists.
#![allow(clippy::unwrap_used)]

mod checks;
#[path = "../common/mod.rs"]
mod common;
mod generate;
mod v2;

use hexz_testkit::replay::fixtures_dir as dir;
use serde_json::Value;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn b3(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load(name: &str) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    let e = expected()[name].clone();
    assert!(e.is_object(), "{name} missing from expected.json");
    assert_eq!(
        bytes.len() as u64,
        e["file_len"].as_u64().unwrap(),
        "{name} length"
    );
    assert_eq!(b3(&bytes), e["file_blake3"], "{name} was modified");
    (bytes, e)
}

#[test]
fn fixture_set_is_complete_and_small() {
    let e = expected();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hxz"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = e.as_object().unwrap().keys().cloned().collect();
    // The encrypted fixtures are described by encrypted.json (tests/encryption/golden.rs reads them).
    let enc: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("encrypted.json")).unwrap())
            .unwrap();
    let enc_names: Vec<String> = enc
        .as_object()
        .unwrap()
        .keys()
        .filter(|n| n.ends_with(".hxz"))
        .cloned()
        .collect();
    listed.extend(enc_names.iter().cloned());
    // The signed fixture is described by encrypted-signed.json (tests/signing.rs reads it).
    let signed: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("encrypted-signed.json")).unwrap(),
    )
    .unwrap();
    listed.push("encrypted-signed.hxz".into());
    listed.sort();
    assert_eq!(on_disk, listed);
    let total: u64 = listed
        .iter()
        .map(|n| match enc.get(n) {
            Some(d) => d["file_len"].as_u64().unwrap(),
            None if n == "encrypted-signed.hxz" => signed["file_len"].as_u64().unwrap(),
            None => load(n).1["file_len"].as_u64().unwrap(),
        })
        .sum();
    assert!(total < 200 << 10, "fixtures total {total} bytes");
}
