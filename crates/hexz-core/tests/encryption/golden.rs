//! The golden encrypted fixtures of tests/fixtures/v1: written once, never regenerated, and
//! read back as recorded.

use crate::common::{open_mem, quiet_opts};
use crate::util::{enc_opts, with_key};
use hexz_core::verify::verify;
use hexz_core::{Archive, DType, Encryption, EntryMeta, Error, KdfParams, KeySource};
use hexz_format::Kdf;
use hexz_testkit::replay::fixtures_dir as fixtures;
use hexz_testkit::Rng;
use serde_json::{json, Value};

fn b3(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

const FIXTURE_KEY_HEX: &str = "8f2a4c6e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f40";
const FIXTURE_PASSPHRASE: &str = "hexz golden passphrase";

fn fixture_writes(w: &mut hexz_core::ArchiveWriter) {
    let m = EntryMeta {
        mode: 0o644,
        mtime_ns: 1_700_000_000_000_000_000,
    };
    w.add_dir_entry("docs", m).unwrap();
    w.add_bytes(
        "docs/readme.txt",
        &b"golden encrypted fixture\n".repeat(300),
        m,
    )
    .unwrap();
    w.add_bytes("docs/noise.bin", &Rng::new(0xe7c).bytes(9000), m)
        .unwrap();
    w.add_bytes("docs/zeros", &[0; 8192], m).unwrap();
    w.add_bytes("docs/copy.bin", &Rng::new(0xe7c).bytes(9000), m)
        .unwrap();
    w.add_symlink("link", "docs/readme.txt", m).unwrap();
    w.add_array(
        "labels",
        DType::U8,
        &[6, 2],
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    )
    .unwrap();
    w.set_metadata(br#"{"fixture":"encrypted","version":1}"#)
        .unwrap();
}

fn describe_fixture(a: &Archive, bytes: &[u8]) -> Value {
    let entries: Vec<Value> = a
        .entries()
        .unwrap()
        .iter()
        .map(|e| {
            let data = a.read_vec(e.data_offset, e.size as usize).unwrap();
            json!({"path": e.path, "size": e.size, "mode": e.mode, "mtime_ns": e.mtime_ns,
                   "target": e.target, "blake3": b3(&data)})
        })
        .collect();
    let records: Vec<String> = (0..a.record_count())
        .map(|i| {
            let r = a.record(i).unwrap();
            b3(&a.read_vec(r.offset, r.length as usize).unwrap())
        })
        .collect();
    json!({
        "file_len": bytes.len(),
        "file_blake3": b3(bytes),
        "root_hash": a.root_hash().iter().map(|x| format!("{x:02x}")).collect::<String>(),
        "logical_size": a.len(),
        "block_count": a.summary().block_count,
        "entries": entries,
        "records_blake3": records,
        "metadata": String::from_utf8(a.metadata().unwrap().unwrap()).unwrap(),
    })
}

#[test]
#[ignore = "writes the encrypted fixtures of tests/fixtures/v1 once; never regenerated"]
fn generate_encrypted_fixtures() {
    let spec = fixtures().join("encrypted.json");
    if spec.exists() {
        eprintln!(
            "{} exists; format v1 fixtures are never regenerated",
            spec.display()
        );
        return;
    }
    let key = KeySource::from_hex(FIXTURE_KEY_HEX).unwrap();
    let raw = match &key {
        KeySource::RawKey(r) => *r,
        KeySource::Passphrase(_) => unreachable!(),
    };
    let mut out = serde_json::Map::new();
    for (name, enc, read_key) in [
        ("encrypted-raw-key.hxz", Encryption::raw_key(raw), key),
        (
            "encrypted-passphrase.hxz",
            Encryption::passphrase(FIXTURE_PASSPHRASE).with_kdf(KdfParams {
                m_cost: 256,
                t_cost: 2,
                parallelism: 2,
            }),
            KeySource::Passphrase(FIXTURE_PASSPHRASE.into()),
        ),
    ] {
        let path = fixtures().join(name);
        let mut w = hexz_core::ArchiveWriter::create(&path, enc_opts(enc)).unwrap();
        fixture_writes(&mut w);
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let a = open_mem(&bytes, with_key(read_key)).unwrap();
        out.insert(name.into(), describe_fixture(&a, &bytes));
    }
    out.insert("key_hex".into(), json!(FIXTURE_KEY_HEX));
    out.insert("passphrase".into(), json!(FIXTURE_PASSPHRASE));
    let text = serde_json::to_string_pretty(&Value::Object(out)).unwrap();
    std::fs::write(spec, text + "\n").unwrap();
    std::fs::write(
        fixtures().join("encrypted-raw-key.key"),
        format!("{FIXTURE_KEY_HEX}\n"),
    )
    .unwrap();
}

#[test]
fn golden_encrypted_fixtures_read_as_recorded() {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("encrypted.json")).unwrap())
            .unwrap();
    let from_file = KeySource::from_key_file(&fixtures().join("encrypted-raw-key.key")).unwrap();
    let key = KeySource::from_hex(spec["key_hex"].as_str().unwrap()).unwrap();
    let pass = KeySource::Passphrase(spec["passphrase"].as_str().unwrap().into());
    for (name, k) in [
        ("encrypted-raw-key.hxz", key.clone()),
        ("encrypted-raw-key.hxz", from_file),
        ("encrypted-passphrase.hxz", pass),
    ] {
        let path = fixtures().join(name);
        let bytes = std::fs::read(&path).unwrap();
        let want = &spec[name];
        assert_eq!(b3(&bytes), want["file_blake3"], "{name} was modified");
        let a = Archive::open_with_options(&path, with_key(k)).unwrap();
        assert!(a.is_encrypted());
        let want_kdf = match name {
            "encrypted-raw-key.hxz" => Kdf::RawKey,
            _ => match a.header().kdf {
                Kdf::Argon2id { salt, .. } => Kdf::Argon2id {
                    m_cost: 256,
                    t_cost: 2,
                    parallelism: 2,
                    salt,
                },
                k => panic!("{k:?}"),
            },
        };
        assert_eq!(a.header().kdf, want_kdf);
        assert_eq!(describe_fixture(&a, &bytes), *want, "{name}");
        let r = verify(&a, &|_| {}).unwrap();
        assert!(r.is_ok(), "{name}: {:?}", r.problems);
        // The contents, recomputed from the inputs.
        let readme = a.entry("docs/readme.txt").unwrap().unwrap();
        assert_eq!(
            a.read_vec(readme.data_offset, readme.size as usize)
                .unwrap(),
            b"golden encrypted fixture\n".repeat(300)
        );
        let copy = a.entry("docs/copy.bin").unwrap().unwrap();
        assert_eq!(
            a.read_vec(copy.data_offset, copy.size as usize).unwrap(),
            Rng::new(0xe7c).bytes(9000)
        );
        // Without a key, or with a wrong one: clear errors.
        assert!(matches!(
            Archive::open_with_options(&path, quiet_opts()),
            Err(Error::KeyRequired(_))
        ));
        assert!(matches!(
            Archive::open_with_options(&path, with_key(KeySource::RawKey([0; 32]))),
            Err(Error::WrongKey(_))
        ));
    }
    let p = open_mem(
        &std::fs::read(fixtures().join("encrypted-passphrase.hxz")).unwrap(),
        with_key(KeySource::Passphrase("hexz golden passphrasE".into())),
    );
    assert!(matches!(p, Err(Error::WrongKey(_))));
}
