//! The cache over a real in-memory store that counts its requests: hits, misses, damaged and
//! truncated chunk files, eviction, sharing between threads, handles and processes, and a
//! dead writer's leftovers.
#![allow(clippy::unwrap_used)]

use hexz_cache::{layout, CacheOptions, CachedStore};
use hexz_core::{MemStore, ReadAt};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The smallest chunk size (one crc page), so tests cross chunk boundaries with little data.
const CHUNK: u64 = 64 << 10;

/// A store of `data` that stands for a remote object: it says `is_remote`, has an identity
/// (its "ETag" is `tag`) and counts requests (a `read_ranges` call is one request).
struct Counting {
    data: MemStore,
    tag: String,
    requests: AtomicU64,
}

impl Counting {
    fn new(data: &[u8], tag: &str) -> Arc<Counting> {
        Arc::new(Counting {
            data: MemStore::new(data.to_vec()),
            tag: tag.into(),
            requests: AtomicU64::new(0),
        })
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl ReadAt for Counting {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.data.read_exact_at(offset, buf)
    }

    fn len(&self) -> io::Result<u64> {
        self.data.len()
    }

    fn read_ranges(&self, ranges: &[(u64, usize)]) -> io::Result<Vec<Vec<u8>>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.data.read_ranges(ranges)
    }

    fn describe(&self) -> String {
        "mem://bucket/test.hxz".into()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn identity(&self) -> Option<String> {
        Some(format!(
            "mem://bucket/test.hxz etag={} len={}",
            self.tag,
            self.data.len().unwrap()
        ))
    }
}

fn data(n: usize) -> Vec<u8> {
    hexz_core::conformance::pattern(n)
}

fn opts(dir: &Path) -> CacheOptions {
    CacheOptions::new(dir).chunk_size(CHUNK)
}

fn cached(inner: &Arc<Counting>, opts: &CacheOptions) -> CachedStore {
    CachedStore::open(inner.clone(), opts).unwrap()
}

fn read(store: &dyn ReadAt, off: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    store.read_exact_at(off, &mut buf).unwrap();
    buf
}

/// Chunk files of the cache in `dir`, sorted.
fn chunk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = hexz_cache::scan::scan(dir)
        .unwrap()
        .into_iter()
        .flat_map(|a| a.chunks.into_iter().map(|c| c.path))
        .collect();
    out.sort();
    out
}

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    hexz_core::conformance::check_store(&|bytes| {
        let inner = Counting::new(bytes, "c");
        Arc::new(cached(&inner, &opts(dir.path()))) as Arc<dyn ReadAt>
    });
    // Again, now every read is a hit.
    hexz_core::conformance::check_store(&|bytes| {
        let inner = Counting::new(bytes, "c");
        let store = Arc::new(cached(&inner, &opts(dir.path())));
        store as Arc<dyn ReadAt>
    });
}

#[test]
fn misses_fetch_whole_chunks_and_hits_make_no_requests() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(10 * CHUNK as usize + 999);
    let inner = Counting::new(&bytes, "v1");
    let store = cached(&inner, &opts(dir.path()));
    assert!(
        store.is_remote(),
        "reads stay remote-shaped for the core's read-ahead"
    );
    assert_eq!(store.identity(), inner.identity());

    // One byte: one request for its whole chunk.
    assert_eq!(
        read(&store, CHUNK + 5, 1),
        &bytes[CHUNK as usize + 5..][..1]
    );
    assert_eq!(inner.requests(), 1);
    assert_eq!(chunk_files(dir.path()).len(), 1);
    // The same chunk again: from the file.
    assert_eq!(
        read(&store, CHUNK + 100, 1000),
        &bytes[CHUNK as usize + 100..][..1000]
    );
    assert_eq!(inner.requests(), 1);
    let s = store.stats();
    assert_eq!((s.misses, s.hits, s.fetched_bytes), (1, 1, CHUNK));

    // Several ranges over several chunks, the short last one included.
    let ranges = [
        (0, 10),
        (3 * CHUNK - 5, 10),
        (bytes.len() as u64 - 7, 7),
        (9, 0),
    ];
    let got = store.read_ranges(&ranges).unwrap();
    for ((off, n), got) in ranges.iter().zip(&got) {
        assert_eq!(got.as_slice(), &bytes[*off as usize..][..*n]);
    }
    assert_eq!(chunk_files(dir.path()).len(), 5);
    let before = inner.requests();

    // A new handle, as the next epoch or another process opens it: everything read through
    // it, and only the chunks not yet cached are fetched.
    let again = cached(&inner, &opts(dir.path()));
    assert_eq!(read(&again, 0, bytes.len()), bytes);
    assert_eq!(inner.requests() - before, 11 - 5);
    let third = cached(&inner, &opts(dir.path()));
    let before = inner.requests();
    assert_eq!(read(&third, 0, bytes.len()), bytes);
    assert_eq!(inner.requests(), before, "a warm cache makes no requests");
    assert_eq!(third.stats().misses, 0);
    assert_eq!(third.stats().hits, 11);

    // Past the end: an error, as from the store itself.
    let mut buf = [0u8; 2];
    let err = third
        .read_exact_at(bytes.len() as u64 - 1, &mut buf)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn a_replaced_object_never_gets_old_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let old = data(3 * CHUNK as usize);
    let new: Vec<u8> = old.iter().map(|b| b ^ 0xff).collect();
    let a = cached(&Counting::new(&old, "etag-old"), &opts(dir.path()));
    assert_eq!(read(&a, 0, old.len()), old);
    let inner = Counting::new(&new, "etag-new");
    let b = cached(&inner, &opts(dir.path()));
    assert_ne!(a.archive_dir(), b.archive_dir());
    assert_eq!(read(&b, 0, new.len()), new);
    assert_eq!(inner.requests(), 3, "one request per chunk");
    // A different chunk size is a different key too.
    let c = CachedStore::open(inner.clone(), &opts(dir.path()).chunk_size(2 * CHUNK)).unwrap();
    assert_ne!(c.archive_dir(), b.archive_dir());
}

/// Flips one byte of a chunk file's data.
fn damage(path: &Path, at_from_end: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = b.len() - at_from_end;
    b[i] ^= 0x40;
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_damaged_chunk_is_detected_deleted_and_refetched() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(4 * CHUNK as usize);
    let inner = Counting::new(&bytes, "v1");
    let store = cached(&inner, &opts(dir.path()));
    assert_eq!(read(&store, 0, bytes.len()), bytes);
    let files = chunk_files(dir.path());
    assert_eq!(files.len(), 4);
    let requests = inner.requests();

    // Damaged before a handle opens it: found by a fresh handle on its first read.
    damage(&files[1], 10);
    let fresh = cached(&inner, &opts(dir.path()));
    assert_eq!(
        read(&fresh, CHUNK, CHUNK as usize),
        &bytes[CHUNK as usize..][..CHUNK as usize]
    );
    assert_eq!(fresh.stats().corrupt, 1);
    assert_eq!(inner.requests(), requests + 1, "refetched once");

    // Damaged while a handle holds it open: found by the page crc on the next read.
    let held = cached(&inner, &opts(dir.path()));
    assert_eq!(
        read(&held, 2 * CHUNK, 100),
        &bytes[2 * CHUNK as usize..][..100]
    );
    damage(&files[2], 1);
    let last = &bytes[3 * CHUNK as usize - 10..3 * CHUNK as usize];
    assert_eq!(read(&held, 3 * CHUNK - 10, 10), last);
    assert_eq!(held.stats().corrupt, 1);
    assert_eq!(inner.requests(), requests + 2);

    // Both were rewritten whole: a new handle reads everything without a request.
    let check = cached(&inner, &opts(dir.path()));
    assert_eq!(read(&check, 0, bytes.len()), bytes);
    assert_eq!(check.stats().corrupt, 0);
    assert_eq!(inner.requests(), requests + 2);
}

#[test]
fn a_truncated_or_foreign_chunk_file_is_refetched() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * CHUNK as usize);
    let inner = Counting::new(&bytes, "v1");
    assert_eq!(
        read(&cached(&inner, &opts(dir.path())), 0, bytes.len()),
        bytes
    );
    let files = chunk_files(dir.path());
    let requests = inner.requests();
    // Truncated (as by a full disk), emptied, and a copy of another chunk under this name.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&files[0])
        .unwrap();
    f.set_len(1000).unwrap();
    std::fs::write(&files[1], b"").unwrap();
    std::fs::copy(&files[0], &files[2]).unwrap();
    let store = cached(&inner, &opts(dir.path()));
    assert_eq!(read(&store, 0, bytes.len()), bytes);
    assert_eq!(store.stats().corrupt, 3);
    assert_eq!(
        inner.requests(),
        requests + 3,
        "the three chunks, refetched once each"
    );
    for f in chunk_files(dir.path()) {
        assert!(
            std::fs::metadata(&f).unwrap().len() > CHUNK,
            "{f:?} rewritten whole"
        );
    }
}

#[test]
fn eviction_removes_least_recently_used_chunks_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // Someone else's files in the cache directory, in the cache's root, and in an archive
    // directory, named almost like the cache's own.
    let foreign = [
        dir.path().join("notes.txt"),
        dir.path().join("0000000000000000.chunk"),
        layout::root(dir.path()).join("0000000000000001.chunk"),
        layout::root(dir.path())
            .join("not-a-key")
            .join("0000000000000002.chunk"),
    ];
    for f in &foreign {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, vec![1u8; 4 * CHUNK as usize]).unwrap();
    }
    let bytes = data(12 * CHUNK as usize);
    let inner = Counting::new(&bytes, "v1");
    let file_size = {
        let probe = tempfile::tempdir().unwrap();
        read(&cached(&inner, &opts(probe.path())), 0, 1);
        std::fs::metadata(&chunk_files(probe.path())[0])
            .unwrap()
            .len()
    };
    let limit = 4 * file_size;
    let o = opts(dir.path()).limit(limit);
    let store = cached(&inner, &o);
    let own_foreign = store.archive_dir().join("README");
    std::fs::write(&own_foreign, b"not a chunk").unwrap();

    // Chunks 0..4 fill the cache; chunk 0 is then used again, so 1 is the least recent.
    read(&store, 0, 4 * CHUNK as usize);
    let files = chunk_files(dir.path());
    let now = SystemTime::now();
    for (i, f) in files.iter().enumerate() {
        let age = if i == 0 { 0 } else { 100 - i as u64 };
        filetime::set_file_mtime(f, (now - Duration::from_secs(age)).into()).unwrap();
    }
    // Every chunk: a limit/16 of writes triggers a check, so the cache stays near its limit.
    read(&store, 0, bytes.len());
    let total: u64 = chunk_files(dir.path())
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(total <= limit, "{total} > {limit}");
    // A new handle's open enforces the limit too; chunk 0 survived chunk 1.
    let usage = hexz_cache::inventory::usage(dir.path()).unwrap();
    assert!(usage.bytes <= limit && usage.chunks == 4, "{usage:?}");
    let names = chunk_files(dir.path());
    assert!(
        !names.contains(&files[1]),
        "the least recently used chunk went first"
    );
    for f in foreign.iter().chain([&own_foreign]) {
        assert!(std::fs::metadata(f).unwrap().len() > 0, "{f:?} kept");
    }
    // Reads are still right, also of evicted chunks.
    assert_eq!(read(&store, 0, bytes.len()), bytes);
}

#[test]
fn threads_of_one_handle_fetch_each_chunk_once() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(16 * CHUNK as usize);
    let inner = Counting::new(&bytes, "v1");
    let store = Arc::new(cached(&inner, &opts(dir.path())));
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (store, bytes) = (store.clone(), &bytes);
            s.spawn(move || {
                for i in 0..64u64 {
                    let off = (i * 7919 + t * 104_729) % (bytes.len() as u64 - 5000);
                    assert_eq!(read(&*store, off, 5000), &bytes[off as usize..][..5000]);
                }
            });
        }
    });
    let s = store.stats();
    assert_eq!(s.misses, 16, "{s:?}");
    assert!(inner.requests() <= 16);
}

#[test]
fn handles_on_one_directory_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(8 * CHUNK as usize);
    let inner = Counting::new(&bytes, "v1");
    let a = Arc::new(cached(&inner, &opts(dir.path())));
    let b = Arc::new(cached(&inner, &opts(dir.path())));
    std::thread::scope(|s| {
        for store in [a.clone(), b.clone()] {
            let bytes = &bytes;
            s.spawn(move || assert_eq!(read(&*store, 0, bytes.len()), *bytes));
        }
    });
    // Both may have fetched a chunk at the same moment; that is harmless, and the cache is
    // whole and good afterwards.
    assert!(a.stats().misses + b.stats().misses >= 8);
    let c = cached(&inner, &opts(dir.path()));
    let before = inner.requests();
    assert_eq!(read(&c, 0, bytes.len()), bytes);
    assert_eq!((inner.requests(), c.stats().corrupt), (before, 0));
}

/// The environment variable that makes [`child_process_reader`] a reader of that directory.
const CHILD_ENV: &str = "HEXZ_CACHE_TEST_CHILD_DIR";

/// Not a test on its own: run by [`processes_share_a_directory`] in child processes.
#[test]
fn child_process_reader() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let bytes = data(24 * CHUNK as usize + 77);
    let inner = Counting::new(&bytes, "shared");
    let store = cached(&inner, &opts(Path::new(&dir)));
    for round in 0..3 {
        // Different orders in different processes, so they race on the same chunks.
        let mut offs: Vec<u64> = (0..bytes.len() as u64).step_by(20_000).collect();
        if (std::process::id() + round) % 2 == 1 {
            offs.reverse();
        }
        for off in offs {
            let n = 30_000.min(bytes.len() - off as usize);
            assert_eq!(read(&store, off, n), &bytes[off as usize..][..n]);
        }
    }
    println!("child misses {}", store.stats().misses);
}

#[test]
fn processes_share_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "child_process_reader",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("child misses"),
            "{text}"
        );
    }
    let bytes = data(24 * CHUNK as usize + 77);
    let inner = Counting::new(&bytes, "shared");
    let store = cached(&inner, &opts(dir.path()));
    assert_eq!(read(&store, 0, bytes.len()), bytes);
    assert_eq!(
        inner.requests(),
        0,
        "the children cached every chunk, whole and good"
    );
    assert_eq!(store.stats().corrupt, 0);
    let leftovers: Vec<_> = std::fs::read_dir(store.archive_dir())
        .unwrap()
        .flatten()
        .filter(|e| layout::is_temp(&e.file_name().to_string_lossy()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_dead_writers_temporary_files_are_ignored_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(2 * CHUNK as usize);
    let inner = Counting::new(&bytes, "v1");
    let store = cached(&inner, &opts(dir.path()));
    // A writer killed mid-chunk left half a chunk under a temporary name; another is live.
    let stale = store.archive_dir().join(".tmp-killed");
    let live = store.archive_dir().join(".tmp-writing");
    std::fs::write(&stale, vec![0xee; 5000]).unwrap();
    std::fs::write(&live, vec![0xee; 5000]).unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    filetime::set_file_mtime(&stale, hour_ago.into()).unwrap();

    assert_eq!(read(&store, 0, bytes.len()), bytes);
    assert_eq!(
        store.stats().misses,
        2,
        "the temporary files are not chunks"
    );
    // The next open cleans up the dead writer's file, not the live one's.
    drop(cached(&inner, &opts(dir.path())));
    assert!(!stale.exists() && live.exists());
}

#[test]
fn stores_without_an_identity_are_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let mem: Arc<dyn ReadAt> = Arc::new(MemStore::new(vec![1u8; 100]));
    let same = hexz_cache::wrap(mem.clone(), &opts(dir.path())).unwrap();
    assert!(Arc::ptr_eq(&same, &mem));
    let err = CachedStore::open(mem, &opts(dir.path())).unwrap_err();
    assert!(err.to_string().contains("no identity"), "{err}");
    assert!(!layout::root(dir.path()).exists());
    // Bad options are refused.
    let inner = Counting::new(b"abc", "x");
    for bad in [opts(dir.path()).limit(0), opts(dir.path()).chunk_size(100)] {
        assert!(CachedStore::open(inner.clone(), &bad).is_err());
    }
}

#[test]
fn list_usage_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let a = Counting::new(&data(3 * CHUNK as usize), "a");
    let b = Counting::new(&data(CHUNK as usize), "b");
    let sa = cached(&a, &opts(dir.path()));
    let sb = cached(&b, &opts(dir.path()));
    read(&sa, 0, 3 * CHUNK as usize);
    read(&sb, 0, 10);
    let list = hexz_cache::inventory::list(dir.path()).unwrap();
    assert_eq!(list.len(), 2);
    let counts: Vec<usize> = list.iter().map(|e| e.chunks.len()).collect();
    assert!(counts.contains(&3) && counts.contains(&1), "{counts:?}");
    let meta = list[0].meta.clone().unwrap();
    assert_eq!(meta.url, "mem://bucket/test.hxz");
    let usage = hexz_cache::inventory::usage(dir.path()).unwrap();
    assert_eq!((usage.archives, usage.chunks), (2, 4));
    assert!(usage.bytes > 4 * CHUNK);

    std::fs::write(dir.path().join("keep.txt"), b"x").unwrap();
    let key = sa
        .archive_dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let removed = hexz_cache::inventory::clear(dir.path(), Some(&key[..8])).unwrap();
    assert_eq!(removed.len(), 1);
    assert!(!sa.archive_dir().exists() && sb.archive_dir().exists());
    // A handle whose directory was cleared goes on working and caching.
    read(&sa, 0, 10);
    assert!(sa.archive_dir().exists());
    let removed = hexz_cache::inventory::clear(dir.path(), None).unwrap();
    assert_eq!(removed.len(), 2);
    assert!(!layout::root(dir.path()).exists());
    assert!(dir.path().join("keep.txt").exists());
}

#[test]
fn all_local_once_every_chunk_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3 * CHUNK as usize + 10);
    let inner = Counting::new(&bytes, "local");
    let store = cached(&inner, &opts(dir.path()));
    assert!(!store.all_local(), "nothing cached yet");
    read(&store, 0, 2 * CHUNK as usize);
    assert!(!store.all_local(), "the last two chunks are not cached");
    read(&store, 3 * CHUNK, 10);
    assert!(!store.all_local(), "chunk 2 is not cached");
    read(&store, 2 * CHUNK + 1, 1);
    assert!(store.all_local());
    // Another handle sees the files; one found removed makes it remote again until the
    // chunk is fetched again.
    let other = cached(&inner, &opts(dir.path()));
    assert!(other.all_local());
    std::fs::remove_file(other.chunk_path(1)).unwrap();
    assert!(
        other.all_local(),
        "not looked for again before a read misses"
    );
    let fetched = inner.requests();
    read(&other, CHUNK, 1);
    assert_eq!(
        inner.requests(),
        fetched + 1,
        "the removed chunk is fetched again"
    );
    assert!(other.all_local(), "fetched and written again");
    std::fs::remove_file(other.chunk_path(1)).unwrap();
    let third = cached(&inner, &opts(dir.path()));
    assert!(!third.all_local());
    // A plain remote store is never all local.
    assert!(!inner.all_local());
}
