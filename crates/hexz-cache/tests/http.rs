//! The cache in front of a real `HttpStore` (nginx on 127.0.0.1): whole archives read through
//! it equal the local file, a second open makes only the request that opens the object, and a
//! replaced object is never served from the old one's chunks.
#![allow(clippy::unwrap_used)]

use hexz_cache::{CacheOptions, CachedStore};
use hexz_core::{Archive, ReadAt, ReadOptions};
use hexz_store::HttpStore;
use hexz_testkit::archive::{compare_with_local, write_archive};
use hexz_testkit::servers;
use std::sync::Arc;

const CHUNK: u64 = 64 << 10;

fn open(url: &str, dir: &std::path::Path) -> Arc<CachedStore> {
    let http: Arc<dyn ReadAt> = Arc::new(HttpStore::open(url).unwrap());
    Arc::new(CachedStore::open(http, &CacheOptions::new(dir).chunk_size(CHUNK)).unwrap())
}

#[test]
fn archives_over_http_through_the_cache() {
    let nginx = servers::TempNginx::start();
    let path = nginx.root.path().join("a.hxz");
    write_archive(&path);
    let url = nginx.url("a.hxz");
    let cache = tempfile::tempdir().unwrap();

    let store = open(&url, cache.path());
    assert!(store.identity().unwrap().contains("etag="));
    let archive = Archive::open_store(store.clone(), ReadOptions::default()).unwrap();
    compare_with_local(&archive, &path);
    assert!(store.stats().misses > 1, "{:?}", store.stats());
    drop(archive);

    let before = nginx.requests();
    let store = open(&url, cache.path());
    let archive = Archive::open_store(store.clone(), ReadOptions::default()).unwrap();
    compare_with_local(&archive, &path);
    assert_eq!(
        nginx.requests() - before,
        1,
        "only the suffix GET that opens the object"
    );
    assert_eq!(store.stats().misses, 0);
    drop(archive);

    // The object replaced by another archive: a new ETag, a new key, the new bytes.
    let other = tempfile::tempdir().unwrap();
    let replacement = other.path().join("b.hxz");
    let opts = hexz_core::WriteOptions {
        block_size: 4096,
        ..hexz_core::WriteOptions::default()
    };
    let mut w = hexz_core::ArchiveWriter::create(&replacement, opts).unwrap();
    w.add_bytes("new.txt", b"new contents", hexz_core::EntryMeta::default())
        .unwrap();
    w.finish().unwrap();
    std::fs::copy(&replacement, &path).unwrap();
    let fresh = open(&url, cache.path());
    assert_ne!(fresh.archive_dir(), store.archive_dir());
    let archive = Archive::open_store(fresh, ReadOptions::default()).unwrap();
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(names, ["new.txt"]);
    let e = archive.entry("new.txt").unwrap().unwrap();
    let mut buf = vec![0u8; 64];
    let n = archive.read_entry_at(&e, 0, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"new contents");
}
