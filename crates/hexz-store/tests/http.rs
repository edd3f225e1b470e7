//! `HttpStore` against a real nginx on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadAt, ReadOptions, WriteOptions};
use hexz_store::{open_url, HttpStore};
use hexz_testkit::data::noise;
use hexz_testkit::{archive, servers};
use std::io::ErrorKind;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn nginx() -> servers::TempNginx {
    servers::TempNginx::start()
}

/// Replaces `path` atomically with `data`, with a modification time `secs` in the past (nginx's
/// ETag is mtime and size, so this changes it even when the size stays).
fn replace(path: &Path, data: &[u8], secs: i64) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).unwrap();
    let t = filetime::FileTime::from_unix_time(1_700_000_000 - secs, 0);
    filetime::set_file_mtime(&tmp, t).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn conformance() {
    let n = nginx();
    let counter = AtomicUsize::new(0);
    hexz_core::conformance::check_store(&|data| {
        let name = format!("obj{}.bin", counter.fetch_add(1, Ordering::Relaxed));
        std::fs::write(n.root.path().join(&name), data).unwrap();
        Arc::new(HttpStore::open(&n.url(&name)).unwrap()) as Arc<dyn ReadAt>
    });
}

#[test]
fn archive_over_http() {
    let n = nginx();
    let path = n.root.path().join("a.hxz");
    archive::write_archive(&path);
    let store = open_url(&n.url("a.hxz")).unwrap();
    assert_eq!(store.describe(), n.url("a.hxz"));
    let remote = Archive::open_store(store, ReadOptions::default()).unwrap();
    archive::compare_with_local(&remote, &path);
}

#[test]
fn missing_object_is_not_found() {
    let n = nginx();
    let err = open_url(&n.url("nope.hxz")).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("nope.hxz"), "{err}");
}

#[test]
fn replaced_object_is_an_error() {
    let n = nginx();
    let path = n.root.path().join("v.bin");
    // Larger than the tail fetched at open, so reads near the start go to the server.
    let v1 = hexz_core::conformance::pattern(1_000_000);
    replace(&path, &v1, 1000);
    let store = HttpStore::open(&n.url("v.bin")).unwrap();
    assert!(store.etag().is_some(), "nginx sends an ETag");
    let mut buf = vec![0u8; 1000];
    store.read_exact_at(500, &mut buf).unwrap();
    assert_eq!(buf, &v1[500..1500]);

    // Same size, new content and mtime: the pinned ETag no longer matches.
    let v2: Vec<u8> = v1.iter().map(|b| b ^ 0xff).collect();
    replace(&path, &v2, 0);
    let err = store.read_exact_at(500, &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other, "{err}");
    assert!(err.to_string().contains("changed"), "{err}");
    let err = store.read_ranges(&[(0, 10), (50_000, 10)]).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");

    // The tail pinned at open is still served: it is the old object's, never a mix.
    let mut end = vec![0u8; 1000];
    store.read_exact_at(999_000, &mut end).unwrap();
    assert_eq!(end, &v1[999_000..]);

    // A new size too.
    replace(&path, &v1[..5000], 2000);
    let err = store.read_exact_at(0, &mut buf).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");

    // Reopening reads the new object.
    let store = HttpStore::open(&n.url("v.bin")).unwrap();
    assert_eq!(store.len().unwrap(), 5000);
}

#[test]
fn bad_urls() {
    for url in [
        "http://127.0.0.1:1/",
        "http://127.0.0.1:1/a?x=1",
        "gopher://h/x",
    ] {
        assert!(open_url(url).is_err(), "{url}");
    }
    // Nothing listens on port 1: a connection error, not a panic or a hang.
    let err = open_url("http://127.0.0.1:1/a.hxz").err().unwrap();
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

#[test]
fn request_counts() {
    let n = nginx();
    let path = n.root.path().join("big.hxz");
    // 8 MiB of incompressible data in 4 KiB blocks: 2048 blocks, most far from the tail.
    let data = noise(8 << 20, 1);
    archive::write_bytes_archive(&path, &data, 4096);
    let store = Arc::new(HttpStore::open(&n.url("big.hxz")).unwrap());
    let archive = Archive::open_store(store.clone(), ReadOptions::default()).unwrap();
    // Open: one suffix GET (length, ETag, footer, summary) and one for the header.
    let at_open = n.requests();
    assert!(at_open <= 2, "open took {at_open} requests");
    assert_eq!(
        store.requests() as usize,
        at_open,
        "client and server agree"
    );

    let mut buf = vec![0u8; 4096];
    archive.read_exact_at(1 << 20, &mut buf).unwrap();
    assert_eq!(buf, &data[1 << 20..(1 << 20) + 4096]);
    let first_read = n.requests() - at_open;
    assert!(
        first_read <= 2,
        "first 4 KiB read took {first_read} (index page + block)"
    );
    // Same index page, another block, not sequential (no read-ahead): exactly one GET.
    for off in [3 << 20, 5 << 20, (1 << 20) + 3 * 4096] {
        let before = n.requests();
        archive.read_exact_at(off as u64, &mut buf).unwrap();
        assert_eq!(buf, &data[off..off + 4096]);
        assert_eq!(n.requests() - before, 1, "4 KiB read at {off}");
    }
    // A cached block costs nothing.
    let before = n.requests();
    archive.read_exact_at(3 << 20, &mut buf).unwrap();
    assert_eq!(n.requests(), before);
}

#[test]
fn reopening_from_a_pin_and_held_pages_costs_no_request() {
    let n = nginx();
    // 8 MiB in 4 KiB blocks, 256 to an index page: 8 pages, most far from the tail.
    let data = noise(8 << 20, 2);
    let opts = WriteOptions {
        block_size: 4096,
        entries_per_page: 256,
        ..WriteOptions::default()
    };
    // The same, its pages found through a page directory of frames of 3 (§7.8).
    let directory = WriteOptions {
        pages_in_summary: 0,
        pages_per_directory: 3,
        ..opts.clone()
    };
    reopen_with_held_pages(&n, "directory.hxz", directory, &data);
    let (path, pin) = reopen_with_held_pages(&n, "pages.hxz", opts, &data);
    let url = n.url("pages.hxz");
    let mut buf = vec![0u8; 4096];
    // The pin still guards the object: replaced, the first fetch is an error.
    replace(&path, &noise(8 << 20, 3), 60);
    let store = HttpStore::open_pinned(&url, Some(&pin)).unwrap();
    let err = store.read_exact_at(1 << 20, &mut buf).unwrap_err();
    assert!(err.to_string().contains("pages.hxz"), "{err}");
}

/// Packs `data` as `name` with `opts`, opens it over HTTP, holds its pages, and reopens it
/// from the pin and the held bytes: no request to reopen, one per block read.
fn reopen_with_held_pages(
    n: &servers::TempNginx,
    name: &str,
    opts: WriteOptions,
    data: &[u8],
) -> (std::path::PathBuf, hexz_core::Pin) {
    let path = n.root.path().join(name);
    let directory = opts.pages_in_summary == 0;
    let mut w = ArchiveWriter::create(&path, opts).unwrap();
    w.add_bytes("data.bin", data, EntryMeta::default()).unwrap();
    w.finish().unwrap();
    let url = n.url(name);
    let first = Archive::open_store(
        Arc::new(HttpStore::open(&url).unwrap()),
        ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(first.summary().has_page_directory(), directory, "{name}");
    let before = n.requests();
    assert!(first.hold_pages().unwrap());
    assert!(
        n.requests() > before,
        "{name}: the far index page is fetched"
    );
    let state = first.reopen_state();
    let pin = state.pin.clone().unwrap();
    assert_eq!(pin.len, first.file_len());

    let before = n.requests();
    let store = Arc::new(HttpStore::open_pinned(&url, Some(&pin)).unwrap());
    let opts = ReadOptions {
        held: state.held,
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    let again = Archive::open_store(store.clone(), opts).unwrap();
    assert_eq!(n.requests(), before, "{name}: reopening asks nothing");
    assert_eq!(store.requests(), 0);
    // Each read costs its block only: the index pages are held.
    let mut buf = vec![0u8; 4096];
    for off in [0usize, 4 << 20, (8 << 20) - 4096] {
        let before = n.requests();
        again.read_exact_at(off as u64, &mut buf).unwrap();
        assert_eq!(buf, &data[off..off + 4096]);
        assert_eq!(n.requests() - before, 1, "{name}: read at {off}");
    }
    (path, pin)
}
