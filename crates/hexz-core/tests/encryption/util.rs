//! Keys, write options and the content every encrypted round trip writes and checks.

use crate::common::{build, quiet_opts};
use hexz_core::verify::verify;
use hexz_core::{
    Archive, Compression, DType, Encryption, EntryMeta, KdfParams, KeySource, ReadOptions,
    WriteOptions,
};
use hexz_testkit::data::mixed_data;
use hexz_testkit::Rng;

pub const KEY: [u8; 32] = *b"hexz test key, 32 bytes long!!!!";
pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn enc_opts(enc: Encryption) -> WriteOptions {
    WriteOptions {
        compression: Compression::Lz4,
        block_size: 4096,
        threads: 2,
        encryption: Some(enc),
        ..WriteOptions::default()
    }
}

pub fn raw_opts() -> WriteOptions {
    enc_opts(Encryption::raw_key(KEY))
}

pub fn pass_opts() -> WriteOptions {
    enc_opts(Encryption::passphrase(PASSPHRASE).with_kdf(KdfParams::testing()))
}

pub fn with_key(key: KeySource) -> ReadOptions {
    ReadOptions {
        key: Some(key),
        ..quiet_opts()
    }
}

pub fn raw_key() -> ReadOptions {
    with_key(KeySource::RawKey(KEY))
}

/// Names, metadata and data that must never appear in an encrypted file.
pub const SECRET_NAME: &str = "secret-plans/launch-codes.txt";
pub const SECRET_META: &str = r#"{"owner":"plaintext-marker-7c1f","note":"do not leak"}"#;
pub const SECRET_TEXT: &[u8] = b"CONFIDENTIAL-PATTERN-0123456789abcdef ";
pub const GROUP_NAME: &str = "hidden-group-name";

pub struct Content {
    pub text: Vec<u8>,
    pub noise: Vec<u8>,
    pub mixed: Vec<u8>,
    pub rows: Vec<u8>,
}

pub fn content() -> Content {
    Content {
        text: SECRET_TEXT.repeat(700),
        noise: Rng::new(0x5ec).bytes(3 * 4096 + 100),
        mixed: mixed_data(11, 150_000),
        rows: (0..40 * 12).map(|i| (i * 31 % 251) as u8).collect(),
    }
}

pub fn write_all(w: &mut hexz_core::ArchiveWriter, c: &Content) -> hexz_core::Result<()> {
    let m = EntryMeta {
        mode: 0o640,
        mtime_ns: 1_700_000_000_123_456_789,
    };
    w.add_dir_entry("secret-plans", m)?;
    w.add_bytes(SECRET_NAME, &c.text, m)?;
    w.add_bytes("secret-plans/noise.bin", &c.noise, m)?;
    w.add_stream("disk", &c.mixed[..], m)?;
    w.add_symlink("latest", SECRET_NAME, m)?;
    w.add_array(GROUP_NAME, DType::U8, &[40, 12], &c.rows)?;
    w.set_metadata(SECRET_META.as_bytes())
}

pub fn check_all(a: &Archive, c: &Content) {
    assert!(a.is_encrypted());
    let entries = a.entries().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names,
        [
            "disk",
            "latest",
            "secret-plans",
            SECRET_NAME,
            "secret-plans/noise.bin"
        ]
    );
    for (path, data) in [
        (SECRET_NAME, &c.text),
        ("secret-plans/noise.bin", &c.noise),
        ("disk", &c.mixed),
    ] {
        let e = a.entry(path).unwrap().unwrap();
        assert_eq!(e.mode, 0o640);
        assert_eq!(a.read_vec(e.data_offset, e.size as usize).unwrap(), *data);
        // Unaligned small reads too.
        let mut buf = vec![0u8; 777.min(data.len() - 3)];
        a.read_entry_at(&e, 3, &mut buf).unwrap();
        assert_eq!(buf, data[3..3 + buf.len()]);
    }
    assert_eq!(
        a.entry("latest").unwrap().unwrap().target.as_deref(),
        Some(SECRET_NAME)
    );
    assert_eq!(a.metadata().unwrap().unwrap(), SECRET_META.as_bytes());
    let groups = a.record_groups().unwrap();
    assert_eq!(groups[0].name, GROUP_NAME);
    assert_eq!(a.record_count(), 40);
    for i in [0u64, 17, 39] {
        let r = a.record(i).unwrap();
        assert_eq!(
            a.read_vec(r.offset, r.length as usize).unwrap(),
            c.rows[i as usize * 12..i as usize * 12 + 12]
        );
    }
    let r = verify(a, &|_| {}).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.bytes, a.len());
}

pub fn encrypted(opts: WriteOptions) -> Vec<u8> {
    build(opts, |w| write_all(w, &content())).unwrap()
}
