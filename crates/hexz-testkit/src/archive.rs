//! Archives to serve, and remote reads checked against the local file (feature `archive`).

use crate::Rng;
use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadOptions, WriteOptions};
use std::path::Path;

/// Writes a multi-block archive with a few entries to `path`: `data/big.bin` (700,000 bytes of
/// `hexz_core::conformance::pattern`), `data/zeros.bin` (200,000 zero bytes) and `readme.txt`
/// (the text [`compare_with_local`] checks), in 16 KiB blocks.
pub fn write_archive(path: &Path) {
    write_archive_with(path, &[]);
}

/// [`write_archive`]'s entries followed by `extra` (path, bytes) entries.
pub fn write_archive_with(path: &Path, extra: &[(&str, &[u8])]) {
    let opts = WriteOptions {
        block_size: 16 * 1024,
        threads: 2,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).unwrap();
    let big = hexz_core::conformance::pattern(700_000);
    w.add_bytes("data/big.bin", &big, EntryMeta::default())
        .unwrap();
    w.add_bytes("data/zeros.bin", &vec![0u8; 200_000], EntryMeta::default())
        .unwrap();
    w.add_bytes(
        "readme.txt",
        b"hello from a remote archive\n",
        EntryMeta::default(),
    )
    .unwrap();
    for (name, data) in extra {
        w.add_bytes(name, data, EntryMeta::default()).unwrap();
    }
    w.finish().unwrap();
}

/// Writes `data` as one entry (`data.bin`) in blocks of `block_size`.
pub fn write_bytes_archive(path: &Path, data: &[u8], block_size: u32) {
    let opts = WriteOptions {
        block_size,
        threads: 2,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).unwrap();
    w.add_bytes("data.bin", data, EntryMeta::default()).unwrap();
    w.finish().unwrap();
}

/// Compares `remote` with the same archive opened locally from `local`: lengths, every byte
/// (sequentially, then 50 seeded scattered reads), the entries, `readme.txt` of
/// [`write_archive`] and the root hash.
pub fn compare_with_local(remote: &Archive, local: &Path) {
    let local = Archive::open_with_options(local, ReadOptions::default()).unwrap();
    assert_eq!(remote.len(), local.len(), "logical length");
    assert_eq!(remote.file_len(), local.file_len(), "file length");
    let len = local.len();
    // Everything, sequentially.
    let mut off = 0;
    while off < len {
        let n = (len - off).min(100_003) as usize;
        assert_eq!(
            remote.read_vec(off, n).unwrap(),
            local.read_vec(off, n).unwrap(),
            "read at {off}"
        );
        off += n as u64;
    }
    // Scattered small reads.
    let mut rng = Rng::new(0x1234_5678_9abc_def1);
    for _ in 0..50 {
        let off = rng.below(len);
        let n = rng.below(5000).min(len - off) as usize;
        assert_eq!(
            remote.read_vec(off, n).unwrap(),
            local.read_vec(off, n).unwrap(),
            "read of {n} bytes at {off}"
        );
    }
    let names: Vec<String> = remote
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert!(names.contains(&"readme.txt".to_string()), "{names:?}");
    let e = remote.entry("readme.txt").unwrap().unwrap();
    let mut buf = vec![0u8; 64];
    let n = remote.read_entry_at(&e, 0, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello from a remote archive\n");
    assert_eq!(remote.root_hash(), local.root_hash());
}
