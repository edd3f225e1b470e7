//! Concurrent readers: eight reader processes over every file, and 16 reader threads while
//! the archive is replaced or rewritten under the mount.

use crate::util::{assert_gone, can_mount, fixture, mount};
use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadOptions, WriteOptions};
use hexz_fuse::{mount_background, MountOptions};
use hexz_testkit::data::noise;
use hexz_testkit::tree::walk;
use hexz_testkit::Rng;
use std::fs;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

#[test]
fn eight_reader_processes_get_the_right_bytes() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    let files: Vec<PathBuf> = walk(&f.src)
        .into_iter()
        .filter(|p| {
            fs::symlink_metadata(f.src.join(p))
                .expect("lstat")
                .is_file()
        })
        .collect();
    let sums = |root: &Path, files: &[PathBuf]| -> String {
        let out = Command::new("sha256sum")
            .current_dir(root)
            .args(files)
            .output()
            .expect("sha256sum");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let expected = sums(&f.src, &files);
    // Eight processes at once, each over every file in its own order.
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut order = files.clone();
            order.rotate_left(i * files.len() / 8);
            if i % 2 == 1 {
                order.reverse();
            }
            let child = Command::new("sha256sum")
                .current_dir(&f.mnt)
                .args(&order)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sha256sum");
            (order, child)
        })
        .collect();
    for (order, mut child) in children {
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read");
        let status = child.wait().expect("wait");
        assert!(status.success());
        let mut got: Vec<&str> = out.lines().collect();
        let mut want: Vec<&str> = expected.lines().collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "reader over {} files", order.len());
    }
    drop(h);
    assert_gone(&f.mnt);
}

/// The soak files: (name, length); version `v`'s bytes are `soak_bytes(i, v)`.
const SOAK_FILES: [(&str, usize); 4] = [
    ("f0", 1_000_003),
    ("f1", 1_500_000),
    ("d/f2", 777_777),
    ("d/f3", 2_000_001),
];

fn soak_bytes(i: usize, version: u64) -> Vec<u8> {
    noise(SOAK_FILES[i].1, 1000 * version + i as u64)
}

/// The soak archive of `version`, as bytes (each version has the same layout).
fn soak_archive(dir: &Path, version: u64) -> Vec<u8> {
    let path = dir.join(format!("v{version}.hxz"));
    let opts = WriteOptions {
        block_size: 16 * 1024,
        compression: hexz_core::Compression::None,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(&path, opts).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    };
    for (i, (name, _)) in SOAK_FILES.iter().enumerate() {
        w.add_bytes(name, &soak_bytes(i, version), meta)
            .expect("add");
    }
    w.finish().expect("finish");
    let bytes = fs::read(&path).expect("read");
    fs::remove_file(&path).expect("rm");
    bytes
}

/// What the soak's readers saw.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    /// Reads that returned exactly the old bytes.
    reads: u64,
    /// Reads answered EIO.
    eio: u64,
    /// Reads that returned other bytes.
    mixed: u64,
    /// Reads that failed with another error.
    other: u64,
    /// Reads that returned fewer bytes than asked for, all of them old.
    short: u64,
}

/// Mounts `archive` (holding version 1), reads random ranges from 16 threads while `replace`
/// changes the file, and returns what they saw. The archive is opened with a small cache, so
/// that reads keep reaching the file, and memory-mapped, so that a read through the map of a
/// truncated file would be a SIGBUS.
fn soak(archive: &Path, mnt: &Path, replace: impl FnOnce()) -> Seen {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let opts = ReadOptions {
        cache_bytes: 256 << 10,
        mmap: true,
        ..ReadOptions::default()
    };
    let a = Archive::open_with_options(archive, opts).expect("open");
    let h = mount_background(a, mnt, &MountOptions::default()).expect("mount");
    let v1: Arc<Vec<Vec<u8>>> = Arc::new((0..SOAK_FILES.len()).map(|i| soak_bytes(i, 1)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<[AtomicU64; 5]> = Arc::new(Default::default());
    let readers: Vec<_> = (0..16u64)
        .map(|t| {
            let (v1, stop, counts, mnt) =
                (v1.clone(), stop.clone(), counts.clone(), mnt.to_path_buf());
            std::thread::spawn(move || {
                let open: Vec<fs::File> = SOAK_FILES
                    .iter()
                    .map(|(name, _)| fs::File::open(mnt.join(name)).expect("open"))
                    .collect();
                let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                let mut next = move || rng.next_u64();
                let mut buf = vec![0u8; 256 << 10];
                while !stop.load(Relaxed) {
                    let i = (next() % SOAK_FILES.len() as u64) as usize;
                    let want = &v1[i];
                    let off = (next() % want.len() as u64) as usize;
                    let len = 1 + (next() % buf.len() as u64) as usize;
                    let f = &open[i];
                    // Drop the kernel's cached pages, so that the read reaches the mount.
                    // SAFETY: posix_fadvise only reads its integer arguments.
                    unsafe {
                        libc::posix_fadvise(
                            std::os::fd::AsRawFd::as_raw_fd(f),
                            0,
                            0,
                            libc::POSIX_FADV_DONTNEED,
                        )
                    };
                    let end = (off + len).min(want.len());
                    let k = match f.read_at(&mut buf[..len], off as u64) {
                        Ok(n) if n == end - off && buf[..n] == want[off..end] => 0,
                        // A read whose later pages fail returns the bytes before them (the
                        // kernel's partial read): those must be the old ones too.
                        Ok(n) if n < end - off && buf[..n] == want[off..off + n] => 4,
                        Ok(_) => 2,
                        Err(e) if e.raw_os_error() == Some(libc::EIO) => 1,
                        Err(e) => {
                            eprintln!("soak: reader {t}: {e}");
                            3
                        }
                    };
                    counts[k].fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    // A hang fails the test rather than blocking the run.
    let deadline = Instant::now() + Duration::from_secs(120);
    replace();
    stop.store(true, Relaxed);
    for r in readers {
        while !r.is_finished() {
            if Instant::now() > deadline {
                eprintln!("soak: a reader hung for 120 s");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        r.join().expect("a reader panicked");
    }
    drop(h);
    assert_gone(mnt);
    let c = |k: usize| counts[k].load(Relaxed);
    Seen {
        reads: c(0),
        eio: c(1),
        mixed: c(2),
        other: c(3),
        short: c(4),
    }
}

/// Soak: 16 threads read random ranges through the mount while the archive file is
/// replaced under it. Replaced by rename (new, old, new content): the mount keeps reading the
/// file it opened, so every read is the old bytes. Rewritten in place (truncated, the other
/// version of the same layout written in pieces, truncated to half, written whole again):
/// reads are the old bytes until the change and EIO after it. Never new or garbage bytes, no
/// SIGBUS although the archive is memory-mapped, no hang.
#[test]
fn replacing_the_archive_under_16_readers_is_old_bytes_or_eio() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let a1 = soak_archive(dir.path(), 1);
    let a2 = soak_archive(dir.path(), 2);
    let archive = dir.path().join("soak.hxz");
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let pause = || std::thread::sleep(Duration::from_millis(1200));

    fs::write(&archive, &a1).expect("write");
    let renamed = soak(&archive, &mnt, || {
        pause();
        for bytes in [&a2, &a1, &a2] {
            let tmp = dir.path().join("soak.hxz.tmp");
            fs::write(&tmp, bytes).expect("write");
            fs::rename(&tmp, &archive).expect("rename");
            pause();
        }
    });
    eprintln!("soak, replaced by rename: {renamed:?}");
    assert!(renamed.reads > 100, "{renamed:?}");
    assert_eq!(
        (renamed.eio, renamed.mixed, renamed.other, renamed.short),
        (0, 0, 0, 0),
        "{renamed:?}"
    );

    fs::write(&archive, &a1).expect("write");
    let in_place = soak(&archive, &mnt, || {
        pause();
        let mut f = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&archive)
            .expect("open for writing");
        for piece in a2.chunks(a2.len() / 8 + 1) {
            std::io::Write::write_all(&mut f, piece).expect("write");
            std::thread::sleep(Duration::from_millis(150));
        }
        pause();
        f.set_len(a2.len() as u64 / 2).expect("truncate");
        pause();
        fs::write(&archive, &a2).expect("write");
        pause();
    });
    eprintln!("soak, rewritten in place: {in_place:?}");
    assert!(in_place.reads > 100, "{in_place:?}");
    assert!(in_place.eio > 0, "{in_place:?}");
    assert_eq!((in_place.mixed, in_place.other), (0, 0), "{in_place:?}");
}
