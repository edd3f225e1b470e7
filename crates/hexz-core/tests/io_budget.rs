//! How many bytes the reader pulls from storage: opening reads a small bounded amount
//! independent of archive size, and a sequential read fetches each stored byte about once.
#![allow(clippy::unwrap_used)]

use hexz_core::{Archive, ArchiveWriter, EntryMeta, FileStore, ReadOptions, WriteOptions};
use hexz_testkit::Rng;
use std::sync::{Arc, OnceLock};

/// A file-backed archive with two index pages (> 4096 blocks of 4 KiB), mostly holes.
fn archive() -> &'static (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    static A: OnceLock<(tempfile::TempDir, std::path::PathBuf, Vec<u8>)> = OnceLock::new();
    A.get_or_init(|| {
        let mut data = vec![0u8; 4300 * 4096];
        let mut rng = Rng::new(7);
        for (i, b) in data.chunks_mut(4096).enumerate() {
            if i % 50 == 1 {
                rng.fill(b);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("budget.hxz");
        let mut w = ArchiveWriter::create(
            &path,
            WriteOptions {
                block_size: 4096,
                ..Default::default()
            },
        )
        .unwrap();
        w.add_stream("disk", &data[..], EntryMeta::default())
            .unwrap();
        w.finish().unwrap();
        (dir, path, data)
    })
}

fn open(opts: ReadOptions) -> (Arc<FileStore>, Archive) {
    let store = Arc::new(FileStore::open(&archive().1).unwrap());
    let a = Archive::open_store(store.clone(), opts).unwrap();
    assert_eq!(a.summary().index_pages.len(), 2);
    (store, a)
}

fn sequential_budget(cache_bytes: usize) {
    let (store, a) = open(ReadOptions {
        cache_bytes,
        readahead_threads: 0,
        readahead_blocks: 0,
        verify_hashes: false,
        key: None,
        ..ReadOptions::default()
    });
    let data = &archive().2;
    let mut buf = vec![0u8; 64 << 10];
    let mut pos = 0u64;
    while pos < a.len() {
        let n = a.read_at(pos, &mut buf).unwrap();
        assert!(buf[..n] == data[pos as usize..pos as usize + n]);
        pos += n as u64;
    }
    let read = store.bytes_read();
    assert!(
        read <= a.file_len() + (64 << 10),
        "a sequential read of a {}-byte archive read {read} bytes from storage",
        a.file_len()
    );
}

#[test]
fn open_reads_header_and_tail_only() {
    let (store, a) = open(ReadOptions::default());
    assert!(
        store.bytes_read() <= 128 + (64 << 10),
        "open read {} bytes",
        store.bytes_read()
    );
    assert!(
        a.file_len() > 64 << 10,
        "the archive is larger than the tail read"
    );
}

#[test]
fn sequential_read_fetches_each_byte_once_with_default_cache() {
    sequential_budget(ReadOptions::default().cache_bytes);
}

#[test]
fn sequential_read_fetches_each_byte_once_with_small_cache() {
    sequential_budget(1 << 20);
}
