//! Remote stores through `hexz-faultproxy` (latency, 503s, connections dropped mid-body) in front
//! of a real nginx and moto_server: every read returns the right bytes or a clear error after
//! bounded retries, and nothing hangs.
#![allow(clippy::unwrap_used)]

use hexz_core::{Archive, ReadAt, ReadOptions};
use hexz_faultproxy::{FaultProxy, Faults};
use hexz_store::{HttpStore, S3Options, S3Store};
use hexz_testkit::data::noise;
use hexz_testkit::{archive, servers};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// No test here may take longer than this, however the faults fall.
const BOUND: Duration = Duration::from_secs(40);
/// A failing open or read (every attempt faulted) must give up within this.
const GIVE_UP: Duration = Duration::from_secs(20);

fn nginx() -> servers::TempNginx {
    servers::TempNginx::start()
}

fn addr(server: &servers::Server) -> SocketAddr {
    (Ipv4Addr::LOCALHOST, server.port).into()
}

/// The entries of `archive::write_archive` plus 3 MiB that does not compress, so the archive is
/// far larger than the tail a store fetches at open and reads really go to the server.
fn write_archive(path: &Path) {
    archive::write_archive_with(path, &[("data/noise.bin", &noise(3 << 20, 1))]);
    assert!(std::fs::metadata(path).unwrap().len() > 3 << 20);
}

/// A fault mix that hits about half the requests, but never one request more than twice in a
/// row, so a client with bounded retries (5) always gets through.
fn flaky(seed: u64) -> Faults {
    Faults::none()
        .latency(Duration::from_millis(2))
        .error_rate(0.3)
        .drop_rate(0.2)
        .max_in_a_row(2)
        .seed(seed)
}

/// No read-ahead: every read below goes to the server when it asks, not before.
fn no_readahead() -> ReadOptions {
    ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    }
}

fn local_bytes(local: &Path, offset: u64, len: usize) -> Vec<u8> {
    Archive::open_with_options(local, ReadOptions::default())
        .unwrap()
        .read_vec(offset, len)
        .unwrap()
}

#[test]
fn flaky_http_reads_are_correct() {
    let start = Instant::now();
    let n = nginx();
    let local = n.root.path().join("a.hxz");
    write_archive(&local);
    let proxy = FaultProxy::start(addr(&n.server), flaky(1)).unwrap();
    let url = format!("{}/a.hxz", proxy.url());

    let store = Arc::new(HttpStore::open(&url).unwrap());
    let remote = Archive::open_store(store.clone(), ReadOptions::default()).unwrap();
    archive::compare_with_local(&remote, &local);
    // And with read-ahead off, so every read is its own request.
    let remote = Archive::open_store(store.clone(), no_readahead()).unwrap();
    archive::compare_with_local(&remote, &local);

    let s = proxy.stats();
    eprintln!("{s:?}; the store sent {} requests", store.requests());
    assert!(s.errors > 0, "no error was injected: {s:?}");
    assert!(s.drops > 0, "no response was dropped: {s:?}");
    // The client counts a retried request once; the proxy saw every attempt.
    assert!(
        s.requests >= store.requests() + s.errors + s.drops,
        "{s:?}, store: {}",
        store.requests()
    );
    assert_eq!(s.upstream_failures, 0, "{s:?}");
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
}

#[test]
fn errors_fail_clearly_then_recover() {
    let start = Instant::now();
    let n = nginx();
    let local = n.root.path().join("a.hxz");
    write_archive(&local);
    let proxy = FaultProxy::start(addr(&n.server), Faults::none().error_rate(1.0)).unwrap();
    let url = format!("{}/a.hxz", proxy.url());

    // Every request answered 503: open gives up after its retries, saying why.
    let t = Instant::now();
    let err = std::io::Error::from(HttpStore::open(&url).unwrap_err());
    let took = t.elapsed();
    eprintln!("open through 100% 503s failed after {took:?}: {err}");
    let msg = err.to_string();
    assert!(msg.contains(&url), "{msg}");
    assert!(
        msg.contains("503") || msg.contains("Service Unavailable"),
        "{msg}"
    );
    assert!(took < GIVE_UP, "{took:?}");
    let s = proxy.stats();
    assert!(s.requests > 5, "retried: {s:?}");
    assert_eq!(s.forwarded, 0, "{s:?}");

    // The server recovers: open, then fail a read, then read again.
    proxy.set_faults(Faults::none()).unwrap();
    let store = Arc::new(HttpStore::open(&url).unwrap());
    let remote = Archive::open_store(store, no_readahead()).unwrap();
    assert_eq!(
        remote.read_vec(0, 1000).unwrap(),
        local_bytes(&local, 0, 1000)
    );
    proxy.set_faults(Faults::none().error_rate(1.0)).unwrap();
    let (off, len) = (1_500_000, 300_000);
    let t = Instant::now();
    let err = remote.read_vec(off, len).unwrap_err();
    let took = t.elapsed();
    eprintln!("read through 100% 503s failed after {took:?}: {err}");
    let msg = err.to_string();
    assert!(msg.contains(&url), "{msg}");
    assert!(
        msg.contains("503") || msg.contains("Service Unavailable"),
        "{msg}"
    );
    assert!(took < GIVE_UP, "{took:?}");
    proxy.set_faults(Faults::none()).unwrap();
    assert!(remote.read_vec(off, len).unwrap() == local_bytes(&local, off, len));
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
}

#[test]
fn drops_fail_clearly_never_wrongly() {
    let start = Instant::now();
    let n = nginx();
    let local = n.root.path().join("a.hxz");
    write_archive(&local);
    let proxy = FaultProxy::start(addr(&n.server), Faults::none().drop_rate(1.0)).unwrap();
    let url = format!("{}/a.hxz", proxy.url());

    let t = Instant::now();
    let err = std::io::Error::from(HttpStore::open(&url).unwrap_err());
    let took = t.elapsed();
    eprintln!("open through 100% drops failed after {took:?}: {err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert!(took < GIVE_UP, "{took:?}");
    assert!(proxy.stats().drops > 5, "retried: {:?}", proxy.stats());

    proxy.set_faults(Faults::none()).unwrap();
    let store = Arc::new(HttpStore::open(&url).unwrap());
    let remote = Archive::open_store(store.clone(), no_readahead()).unwrap();
    proxy
        .set_faults(Faults::none().drop_rate(1.0).seed(5))
        .unwrap();
    for (off, len) in [(1_000_000u64, 200_000usize), (2_500_000, 4096)] {
        let t = Instant::now();
        let err = remote.read_vec(off, len).unwrap_err();
        let took = t.elapsed();
        eprintln!("read at {off} through 100% drops failed after {took:?}: {err}");
        assert!(err.to_string().contains(&url), "{err}");
        assert!(took < GIVE_UP, "{took:?}");
        // The store itself, below the archive's checks: an error too, never short or wrong.
        let mut buf = vec![0u8; len];
        assert!(store.read_exact_at(off, &mut buf).is_err());
    }
    proxy.set_faults(Faults::none()).unwrap();
    for (off, len) in [(1_000_000u64, 200_000usize), (2_500_000, 4096)] {
        assert!(remote.read_vec(off, len).unwrap() == local_bytes(&local, off, len));
    }
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
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

/// The object is replaced while a read's body is cut off: the retry that resumes the body must
/// not splice the new object's bytes onto the old ones, and the error must say what happened.
#[test]
fn replaced_during_a_dropped_read_is_changed() {
    let start = Instant::now();
    let n = nginx();
    let path: PathBuf = n.root.path().join("v.bin");
    let v1 = hexz_core::conformance::pattern(2_000_000);
    replace(&path, &v1, 1000);
    let proxy = FaultProxy::start(addr(&n.server), Faults::none()).unwrap();
    let url = format!("{}/v.bin", proxy.url());
    let store = Arc::new(HttpStore::open(&url).unwrap());

    // Cut the next response; the client's resuming retry arrives after its backoff and then
    // waits out 300 ms of latency, by which time the object is new and faults are off.
    proxy
        .set_faults(
            Faults::none()
                .drop_rate(1.0)
                .latency(Duration::from_millis(300)),
        )
        .unwrap();
    let reader = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1_000_000];
            store.read_exact_at(1000, &mut buf).map(|()| buf)
        })
    };
    let deadline = Instant::now() + GIVE_UP;
    while proxy.stats().drops == 0 {
        assert!(Instant::now() < deadline, "no drop: {:?}", proxy.stats());
        std::thread::sleep(Duration::from_millis(1));
    }
    let v2: Vec<u8> = v1.iter().map(|b| b ^ 0xff).collect();
    replace(&path, &v2, 0);
    proxy.set_faults(Faults::none()).unwrap();
    let result = reader.join().unwrap();
    let s = proxy.stats();
    match result {
        Ok(buf) => panic!(
            "read succeeded after the object changed ({}): {s:?}",
            if buf[..] == v1[1000..1_001_000] {
                "old bytes"
            } else {
                "NOT the old bytes"
            }
        ),
        Err(err) => {
            eprintln!("read across a replacement: {err} ({s:?})");
            assert!(err.to_string().contains(&url), "{err}");
            assert!(err.to_string().contains("changed"), "{err}");
        }
    }
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
}

/// PUTs `data` at `path` on an S3-compatible server at `addr`, unsigned, readable by anyone.
fn put_public(addr: SocketAddr, path: &str, data: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nx-amz-acl: public-read\r\n\
         Connection: close\r\n\r\n",
        data.len()
    )
    .unwrap();
    s.write_all(data).unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    String::from_utf8_lossy(&resp).into_owned()
}

#[test]
#[cfg(feature = "s3")]
fn flaky_s3_reads_are_correct() {
    let start = Instant::now();
    let state = tempfile::tempdir().unwrap();
    let moto = servers::moto(state.path());
    assert_eq!(servers::http_status(moto.port, "PUT", "/faults"), 200);
    let proxy = FaultProxy::start(addr(&moto), Faults::none()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("a.hxz");
    write_archive(&local);
    // The upload goes through the proxy too (a 3 MiB Content-Length body).
    let resp = put_public(
        proxy.addr(),
        "/faults/a.hxz",
        &std::fs::read(&local).unwrap(),
    );
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    proxy.set_faults(flaky(2)).unwrap();
    // Explicit options, no environment: the proxy as the endpoint, unsigned requests for the
    // public object.
    let opts = S3Options::new()
        .endpoint(proxy.url())
        .region("us-east-1")
        .path_style(true)
        .anonymous(true);
    let store = Arc::new(S3Store::open_with("s3://faults/a.hxz", &opts).unwrap());
    assert_eq!(
        store.len().unwrap(),
        std::fs::metadata(&local).unwrap().len()
    );
    let remote = Archive::open_store(store.clone(), ReadOptions::default()).unwrap();
    archive::compare_with_local(&remote, &local);
    let remote = Archive::open_store(store.clone(), no_readahead()).unwrap();
    archive::compare_with_local(&remote, &local);
    let s = proxy.stats();
    eprintln!("{s:?}; the store sent {} requests", store.requests());
    assert!(s.errors > 0, "no error was injected: {s:?}");
    assert!(s.drops > 0, "no response was dropped: {s:?}");
    assert!(s.requests >= store.requests() + s.errors + s.drops, "{s:?}");

    // Every request refused: a clear error naming the object, within bounded time.
    proxy.set_faults(Faults::none().error_rate(1.0)).unwrap();
    let t = Instant::now();
    let err = std::io::Error::from(S3Store::open_with("s3://faults/a.hxz", &opts).unwrap_err());
    eprintln!(
        "S3 open through 100% 503s failed after {:?}: {err}",
        t.elapsed()
    );
    assert!(err.to_string().contains("s3://faults/a.hxz"), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    assert!(t.elapsed() < GIVE_UP, "{:?}", t.elapsed());
    assert!(start.elapsed() < BOUND, "took {:?}", start.elapsed());
}
