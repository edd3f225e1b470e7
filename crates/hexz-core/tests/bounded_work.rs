//! Work bounded by what is read, for spec-valid archives at the spec's limits (FORMAT.md §12, §14): an
//! index page of the most entries the spec allows is read and decoded once, not per lookup.

use hexz_core::{Archive, EntryMeta, FileStore, ReadAt, ReadOptions, WriteOptions};
use parking_lot::Mutex;
use std::io::Read;
use std::sync::Arc;

/// A real file whose reads are counted.
struct Counting {
    inner: FileStore,
    reads: Mutex<u64>,
}

impl ReadAt for Counting {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        *self.reads.lock() += 1;
        self.inner.read_exact_at(offset, buf)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn describe(&self) -> String {
        "counting".into()
    }
}

#[test]
fn a_full_index_page_is_decoded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pages.hxz");
    let blocks: u64 = 40_000; // past 32,767, where pages used to be too big to cache
    let opts = WriteOptions {
        block_size: 4096,
        entries_per_page: 65_536,
        ..WriteOptions::default()
    };
    let mut w = hexz_core::ArchiveWriter::create(&path, opts).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    };
    w.add_stream("disk", std::io::repeat(0).take(blocks * 4096), meta)
        .expect("stream");
    w.finish().expect("finish");

    let store = Arc::new(Counting {
        inner: FileStore::open(&path).expect("open"),
        reads: Mutex::new(0),
    });
    let archive = Archive::open_store(store.clone(), ReadOptions::default()).expect("open");
    let opened = *store.reads.lock();
    let mut buf = vec![1u8; 4096];
    for k in 0..2000u64 {
        let block = (k * 7919) % blocks;
        archive.read_exact_at(block * 4096, &mut buf).expect("read");
        assert!(buf.iter().all(|&b| b == 0));
    }
    let reads = *store.reads.lock() - opened;
    // Zero blocks need no data read: only the index page, once (a few more for read-ahead).
    assert!(
        reads <= 8,
        "{reads} store reads for 2,000 lookups in one index page"
    );
}

#[test]
fn entries_per_page_outside_the_spec_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for n in [0u32, 65_537] {
        let opts = WriteOptions {
            entries_per_page: n,
            ..WriteOptions::default()
        };
        let err = hexz_core::ArchiveWriter::create(dir.path().join("x.hxz"), opts)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("entries per page"), "{err}");
    }
}
