//! Hexz's own HTTP client (`hexz_store::HttpStore`) against `hexz serve` on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use hexz_core::{Archive, ReadAt, ReadOptions};
use hexz_store::HttpStore;
use std::io::Write;
use std::sync::Arc;

#[test]
fn conformance() {
    // The suite stores arbitrary bytes, so these servers skip the archive check; each object
    // gets a server of its own, kept alive as long as the suite's readers.
    let dir = tempfile::tempdir().unwrap();
    let servers = std::sync::Mutex::new(Vec::new());
    hexz_core::conformance::check_store(&|data| {
        let mut servers = servers.lock().unwrap();
        let path = dir.path().join(format!("obj{}.bin", servers.len()));
        std::fs::write(&path, data).unwrap();
        let server = common::spawn(&[path], false);
        let store = HttpStore::open(&server.url(&format!("obj{}.bin", servers.len()))).unwrap();
        assert!(store.etag().is_some(), "the server sends an ETag");
        servers.push(server);
        Arc::new(store) as Arc<dyn ReadAt>
    });
}

#[test]
fn archive_over_http_matches_local() {
    let s = common::serve_archive();
    let store = Arc::new(HttpStore::open(&s.url()).unwrap());
    assert_eq!(
        store.object_len(),
        std::fs::metadata(&s.path).unwrap().len()
    );
    let remote = Archive::open_store(store, ReadOptions::default()).unwrap();
    let local = Archive::open(&s.path).unwrap();
    assert_eq!(remote.file_len(), local.file_len());
    assert_eq!(remote.len(), local.len());
    let (re, le) = (remote.entries().unwrap(), local.entries().unwrap());
    assert_eq!(re.len(), le.len());
    assert!(le.len() >= 5, "{} entries", le.len());
    for (r, l) in re.iter().zip(le.iter()) {
        assert_eq!(r, l, "entry metadata");
        let mut rb = vec![0u8; r.size as usize];
        let mut lb = vec![0u8; l.size as usize];
        assert_eq!(remote.read_entry_at(r, 0, &mut rb).unwrap(), rb.len());
        assert_eq!(local.read_entry_at(l, 0, &mut lb).unwrap(), lb.len());
        assert!(rb == lb, "{}: bytes differ", r.path);
    }
    // The whole logical stream too, in odd-sized pieces.
    let mut off = 0;
    while off < local.len() {
        let n = (local.len() - off).min(100_003) as usize;
        assert_eq!(
            remote.read_vec(off, n).unwrap(),
            local.read_vec(off, n).unwrap(),
            "at {off}"
        );
        off += n as u64;
    }
    assert!(hexz_core::verify::verify(&remote, &|_| {}).unwrap().is_ok());
}

#[test]
fn replaced_path_keeps_serving_the_opened_file() {
    let s = common::serve_archive();
    let original = std::fs::read(&s.path).unwrap();
    let store = HttpStore::open(&s.url()).unwrap();
    let etag = store.etag().unwrap().to_string();

    // A new archive renamed over the path (what `hexz pack` does): the server keeps the file
    // it opened, bytes and ETag alike.
    let other = s.dir.path().join("other.hxz");
    std::fs::write(&other, b"not even an archive").unwrap();
    std::fs::rename(&other, &s.path).unwrap();
    let mut buf = vec![0u8; 4096];
    store.read_exact_at(1000, &mut buf).unwrap();
    assert_eq!(buf, &original[1000..5096]);
    let reopened = HttpStore::open(&s.url()).unwrap();
    assert_eq!(reopened.etag(), Some(etag.as_str()));
    assert_eq!(reopened.object_len(), original.len() as u64);
}

#[test]
fn file_changed_in_place_is_a_clear_error() {
    let s = common::serve_archive();
    let store = HttpStore::open(&s.url()).unwrap();
    // Append to the open file itself: its size, mtime and so its ETag change.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&s.path)
        .unwrap();
    f.write_all(b"tail").unwrap();
    drop(f);
    let mut buf = vec![0u8; 100];
    let err = store.read_exact_at(0, &mut buf).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
    // Reopened, the new length and ETag are served.
    let reopened = HttpStore::open(&s.url()).unwrap();
    assert_ne!(reopened.etag(), store.etag());
    assert_eq!(reopened.object_len(), store.object_len() + 4);
}
