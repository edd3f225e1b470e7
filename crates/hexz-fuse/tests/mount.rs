//! Real mounts of packed trees and images, read back through the kernel: contents, modes,
//! mtimes and symlinks against the source, a raw image with `qemu-img compare`, `EIO` for a
//! corrupt block, concurrent reader processes, mountpoint errors and unmounting. Every test
//! checks that its mount is gone from /proc/self/mountinfo afterwards.
//!
//! They need root and /dev/fuse: as root a missing /dev/fuse fails the test; as another user
//! they are skipped with a message.
#![cfg(target_os = "linux")]

use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadOptions, WriteOptions};
use hexz_fuse::{mount_background, Error, MountHandle, MountOptions};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Whether real mounts can run here. Not root: skipped with a message. Root without
/// /dev/fuse: a failure that says what is missing.
fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting needs root (CI runs these tests as root)");
        return false;
    }
    if let Err(e) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        panic!("running as root but /dev/fuse cannot be opened ({e}): load the fuse module");
    }
    true
}

fn is_mounted(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    hexz_fuse::mountinfo::mounts()
        .expect("mountinfo")
        .iter()
        .any(|m| m.mount_point == path)
}

/// Waits (with a deadline) until `path` is no longer a mount point.
fn assert_gone(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_mounted(path) {
        assert!(
            Instant::now() < deadline,
            "{} is still mounted",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// 64 KiB runs of random, text and zero bytes.
fn mixed(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len {
        let n = (len - out.len()).min(64 * 1024);
        match i % 3 {
            0 => out.extend(noise(n, seed + i)),
            1 => {
                let line = b"the quick brown fox jumps over hexz\n";
                out.extend((0..n).map(|j| line[j % line.len()]));
            }
            _ => out.resize(out.len() + n, 0),
        }
        i += 1;
    }
    out
}

fn put(path: &Path, data: &[u8], mode: u32, secs: i64, nanos: u32) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).expect("mkdir");
    }
    fs::write(path, data).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    filetime::set_file_mtime(path, filetime::FileTime::from_unix_time(secs, nanos)).expect("mtime");
}

/// A tree with files of many sizes and modes, symlinks (relative, dangling), nested and empty
/// directories, names with spaces and non-ASCII, and fixed nanosecond mtimes.
fn make_tree(root: &Path) {
    let big = mixed(3 << 20, 7);
    put(&root.join("empty"), b"", 0o644, 1_600_000_000, 1);
    put(&root.join("one"), b"x", 0o444, 1_600_000_001, 999_999_999);
    put(
        &root.join("a/medium.txt"),
        &mixed(100_000, 1),
        0o600,
        1_500_000_000,
        123_456_789,
    );
    put(&root.join("a/b/c/big.bin"), &big, 0o644, 1_400_000_000, 5);
    put(
        &root.join("a/b/big-copy.bin"),
        &big,
        0o644,
        1_400_000_001,
        6,
    );
    put(
        &root.join("a/b/run.sh"),
        b"#!/bin/sh\necho hi\n",
        0o755,
        1_300_000_000,
        0,
    );
    put(
        &root.join("z/random.bin"),
        &noise(200_000, 3),
        0o640,
        1_200_000_000,
        42,
    );
    put(
        &root.join("with space/ünïcode ✓.txt"),
        b"hello\n",
        0o644,
        1_250_000_000,
        7,
    );
    for i in 0..40 {
        put(
            &root.join(format!("many/f{i:03}")),
            &noise(i * 997, i as u64),
            0o644,
            1_100_000_000 + i as i64,
            0,
        );
    }
    std::os::unix::fs::symlink("../medium.txt", root.join("a/b/link")).expect("symlink");
    std::os::unix::fs::symlink("does/not/exist", root.join("dangling")).expect("symlink");
    let t = filetime::FileTime::from_unix_time(1_100_000_000, 77);
    filetime::set_symlink_file_times(root.join("a/b/link"), t, t).expect("symlink time");
    filetime::set_symlink_file_times(root.join("dangling"), t, t).expect("symlink time");
    fs::create_dir_all(root.join("empty-dir")).expect("mkdir");
    for (dir, mode, secs) in [
        ("a/b/c", 0o755, 1_000_000_003),
        ("a/b", 0o750, 1_000_000_002),
        ("a", 0o755, 1_000_000_001),
        ("z", 0o700, 1_000_000_004),
        ("empty-dir", 0o711, 1_000_000_005),
        ("many", 0o755, 1_000_000_006),
        ("with space", 0o755, 1_000_000_007),
    ] {
        let p = root.join(dir);
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
        filetime::set_file_mtime(&p, filetime::FileTime::from_unix_time(secs, 314_159))
            .expect("mtime");
    }
}

/// Every path under `root`, relative, sorted.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in fs::read_dir(root.join(&rel)).expect("read_dir") {
            let e = e.expect("dir entry");
            let r = rel.join(e.file_name());
            if e.file_type().expect("file type").is_dir() {
                stack.push(r.clone());
            }
            out.push(r);
        }
    }
    out.sort();
    out
}

/// Asserts that `mounted` holds the same paths, kinds, sizes, bytes, modes, mtimes (ns) and
/// symlink targets as `src`.
fn assert_same_tree(src: &Path, mounted: &Path) {
    let (a, b) = (walk(src), walk(mounted));
    assert_eq!(a, b, "different paths");
    for rel in a {
        let (x, y) = (src.join(&rel), mounted.join(&rel));
        let (mx, my) = (
            fs::symlink_metadata(&x).expect("lstat"),
            fs::symlink_metadata(&y).expect("lstat"),
        );
        assert_eq!(mx.file_type(), my.file_type(), "{rel:?}: kind");
        assert_eq!(
            (mx.mtime(), mx.mtime_nsec()),
            (my.mtime(), my.mtime_nsec()),
            "{rel:?}: mtime"
        );
        if mx.file_type().is_symlink() {
            assert_eq!(
                fs::read_link(&x).ok(),
                fs::read_link(&y).ok(),
                "{rel:?}: target"
            );
            assert_eq!(mx.len(), my.len(), "{rel:?}: symlink size");
            continue;
        }
        assert_eq!(mx.mode() & 0o7777, my.mode() & 0o7777, "{rel:?}: mode");
        if mx.is_file() {
            assert_eq!(mx.len(), my.len(), "{rel:?}: size");
            assert_eq!(my.nlink(), 1, "{rel:?}: nlink");
            assert!(
                fs::read(&x).expect("read") == fs::read(&y).expect("read"),
                "{rel:?}: contents differ"
            );
        }
    }
}

/// A packed copy of `src` in `dir`.
fn pack_tree(src: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("tree.hxz");
    let mut w = ArchiveWriter::create(&out, WriteOptions::default()).expect("create");
    w.add_dir(src, "").expect("add_dir");
    w.finish().expect("finish");
    out
}

fn mount(archive: &Path, mnt: &Path) -> MountHandle {
    let a = Archive::open(archive).expect("open");
    mount_background(a, mnt, &MountOptions::default()).expect("mount")
}

struct Fixture {
    dir: TempDir,
    src: PathBuf,
    archive: PathBuf,
    mnt: PathBuf,
}

fn fixture() -> Fixture {
    let dir = TempDir::new().expect("tempdir");
    let src = dir.path().join("src");
    make_tree(&src);
    let archive = pack_tree(&src, dir.path());
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    Fixture {
        dir,
        src,
        archive,
        mnt,
    }
}

#[test]
fn tree_matches_the_source() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    assert!(is_mounted(&f.mnt));
    assert_eq!(h.mountpoint(), f.mnt.canonicalize().expect("canonical"));
    assert_same_tree(&f.src, &f.mnt);

    // Directory link counts: 2 + subdirectories.
    assert_eq!(fs::metadata(f.mnt.join("a")).expect("stat").nlink(), 3);
    assert_eq!(fs::metadata(f.mnt.join("a/b")).expect("stat").nlink(), 3);
    // Missing names, twice (the second from the kernel's negative cache).
    for _ in 0..2 {
        let e = fs::metadata(f.mnt.join("a/nope")).expect_err("missing");
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
    let e = fs::metadata(f.mnt.join("one/x")).expect_err("below a file");
    assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR));
    // Read-only everywhere.
    let e = fs::write(f.mnt.join("new"), b"x").expect_err("create");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    let e = fs::OpenOptions::new()
        .write(true)
        .open(f.mnt.join("one"))
        .expect_err("open for writing");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    let e = fs::remove_file(f.mnt.join("one")).expect_err("unlink");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    let e = fs::create_dir(f.mnt.join("d")).expect_err("mkdir");
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    // Owner: the mounting user.
    let md = fs::metadata(f.mnt.join("one")).expect("stat");
    // SAFETY: geteuid has no preconditions.
    assert_eq!(md.uid(), unsafe { libc::geteuid() });
    assert_eq!(md.blocks(), 1);
    // Reads at odd offsets and lengths, across block boundaries.
    let big = fs::read(f.src.join("a/b/c/big.bin")).expect("read");
    let file = fs::File::open(f.mnt.join("a/b/c/big.bin")).expect("open");
    for (off, len) in [
        (0, 1),
        (65_535, 2),
        (1_000_003, 300_001),
        (3 << 20, 10),
        ((3 << 20) - 5, 100),
    ] {
        let mut buf = vec![0u8; len];
        let n = file.read_at(&mut buf, off as u64).expect("pread");
        let end = (off + len).min(big.len());
        assert_eq!(&buf[..n], &big[off.min(end)..end], "pread {off}+{len}");
    }
    drop(file);
    h.unmount().expect("unmount");
    assert_gone(&f.mnt);
    drop(f.dir);
}

#[test]
fn implied_directories_and_options() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let archive = dir.path().join("implied.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    let meta = |mode, secs: i64| EntryMeta {
        mode,
        mtime_ns: secs * 1_000_000_000 + 5,
    };
    w.add_bytes("x/y/z.txt", b"deep", meta(0o640, 1_700_000_000))
        .expect("add");
    w.add_bytes("top", b"top", meta(0o600, 1_600_000_000))
        .expect("add");
    w.finish().expect("finish");
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let opts = MountOptions {
        uid: Some(1234),
        gid: Some(4321),
        ..MountOptions::default()
    };
    let h = mount_background(Archive::open(&archive).expect("open"), &mnt, &opts).expect("mount");
    for d in ["", "x", "x/y"] {
        let md = fs::metadata(mnt.join(d)).expect("stat");
        assert!(md.is_dir(), "{d:?}");
        assert_eq!(md.mode() & 0o7777, 0o755, "{d:?}");
        // The newest mtime in the archive.
        assert_eq!((md.mtime(), md.mtime_nsec()), (1_700_000_000, 5), "{d:?}");
        assert_eq!((md.uid(), md.gid()), (1234, 4321));
    }
    assert_eq!(fs::read(mnt.join("x/y/z.txt")).expect("read"), b"deep");
    let md = fs::metadata(mnt.join("top")).expect("stat");
    assert_eq!(
        (md.uid(), md.gid(), md.mode() & 0o7777),
        (1234, 4321, 0o600)
    );
    assert_eq!(fs::metadata(&mnt).expect("stat").nlink(), 3);
    drop(h);
    assert_gone(&mnt);
}

/// A raw disk image of `len` bytes: random, text and zero runs, with a long hole.
fn disk_image(len: usize) -> Vec<u8> {
    let mut d = mixed(len, 11);
    let hole = len / 3;
    d[hole..hole + len / 4].fill(0);
    d
}

#[test]
fn raw_image_is_disk_and_memory() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let img = disk_image((24 << 20) + 4096 + 17);
    let mem = noise(3 << 20, 5);
    let img_path = dir.path().join("disk.img");
    fs::write(&img_path, &img).expect("write");
    let archive = dir.path().join("vm.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 1_650_000_000_000_000_000,
    };
    w.add_stream("disk", &img[..], meta).expect("disk");
    w.add_stream("memory", &mem[..], meta).expect("memory");
    w.finish().expect("finish");
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let h = mount(&archive, &mnt);
    let names: Vec<_> = walk(&mnt);
    assert_eq!(names, [PathBuf::from("disk"), PathBuf::from("memory")]);
    assert_eq!(
        fs::metadata(mnt.join("disk")).expect("stat").len(),
        img.len() as u64
    );
    assert!(
        fs::read(mnt.join("disk")).expect("read") == img,
        "disk differs"
    );
    assert!(
        fs::read(mnt.join("memory")).expect("read") == mem,
        "memory differs"
    );
    let out = Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", "raw"])
        .arg(mnt.join("disk"))
        .arg(&img_path)
        .output()
        .expect("qemu-img (install qemu-utils)");
    assert!(
        out.status.success(),
        "qemu-img compare: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(h);
    assert_gone(&mnt);
}

#[test]
fn a_corrupt_block_is_eio_and_the_rest_reads() {
    if !can_mount() {
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let archive = dir.path().join("c.hxz");
    let bad = noise(8 * 65_536, 1);
    let good = noise(3 * 65_536 + 100, 2);
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    let meta = EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    };
    w.add_bytes("bad.bin", &bad, meta).expect("add");
    w.add_bytes("good.bin", &good, meta).expect("add");
    w.finish().expect("finish");
    // Flip one byte in the stored bytes of bad.bin's 6th block.
    let a = Archive::open(&archive).expect("open");
    let e = a.entry("bad.bin").expect("entries").expect("bad.bin");
    let target = e.data_offset + 5 * 65_536;
    let block = a
        .blocks()
        .map(|b| b.expect("index"))
        .find(|b| b.logical_offset == target)
        .expect("block");
    drop(a);
    let mut bytes = fs::read(&archive).expect("read");
    bytes[block.stored_offset as usize + 100] ^= 0x40;
    fs::write(&archive, &bytes).expect("write");

    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let h = mount(&archive, &mnt);
    let e = fs::read(mnt.join("bad.bin")).expect_err("whole file");
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    let f = fs::File::open(mnt.join("bad.bin")).expect("open");
    let mut buf = vec![0u8; 65_536];
    let e = f
        .read_at(&mut buf, 5 * 65_536 + 10)
        .expect_err("the corrupt block");
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    for blk in [0u64, 1, 4, 7] {
        let n = f.read_at(&mut buf, blk * 65_536).expect("an intact block");
        assert_eq!(
            &buf[..n],
            &bad[(blk * 65_536) as usize..][..n],
            "block {blk}"
        );
    }
    assert!(fs::read(mnt.join("good.bin")).expect("good") == good);
    assert!(h.read_errors() >= 2);
    drop(f);
    drop(h);
    assert_gone(&mnt);
}

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

#[test]
fn mountpoint_errors() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let open = || Arc::new(Archive::open(&f.archive).expect("open"));
    let opts = MountOptions::default();
    let missing = f.dir.path().join("missing");
    match mount_background(open(), &missing, &opts) {
        Err(e @ Error::MountpointMissing(_)) => assert!(e.to_string().contains("does not exist")),
        other => panic!("{other:?}"),
    }
    match mount_background(open(), &f.archive, &opts) {
        Err(e @ Error::NotADirectory(_)) => assert!(e.to_string().contains("not a directory")),
        other => panic!("{other:?}"),
    }
    match mount_background(open(), &f.src, &opts) {
        Err(e @ Error::NotEmpty(_)) => assert!(e.to_string().contains("not empty")),
        other => panic!("{other:?}"),
    }
    // A corrupt entries table is an archive error, before anything is mounted.
    let a = Archive::open(&f.archive).expect("open");
    let table = a.summary().entries.offset;
    drop(a);
    let mut bytes = fs::read(&f.archive).expect("read");
    bytes[table as usize + 3] ^= 0x08;
    let corrupt = f.dir.path().join("corrupt.hxz");
    fs::write(&corrupt, &bytes).expect("write");
    let a = Archive::open_with_options(&corrupt, ReadOptions::default()).expect("open");
    match mount_background(a, &f.mnt, &opts) {
        Err(Error::Archive(e)) => assert!(e.is_corruption(), "{e}"),
        other => panic!("{other:?}"),
    }
    for p in [&missing, &f.archive, &f.src, &f.mnt] {
        assert!(!is_mounted(p));
    }
    // Nothing mounted there: unmount says so.
    match hexz_fuse::unmount(&f.mnt) {
        Err(e @ Error::NotMounted(_)) => assert!(e.to_string().contains("not a mount point")),
        other => panic!("{other:?}"),
    }
    match hexz_fuse::unmount(&missing) {
        Err(e @ Error::Unmount { .. }) => assert!(e.to_string().contains("no such"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A mount point that is not hexz's.
    match hexz_fuse::unmount("/proc") {
        Err(e @ Error::NotHexz { .. }) => assert!(e.to_string().contains("proc"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unmounted_from_outside_ends_the_session() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    assert!(h.is_mounted());
    assert!(!h.wait_timeout(Duration::from_millis(50)));
    assert!(hexz_fuse::find_mount(&f.mnt).expect("mountinfo").is_some());
    hexz_fuse::unmount(&f.mnt).expect("unmount");
    assert!(
        h.wait_timeout(Duration::from_secs(5)),
        "the session did not end"
    );
    assert!(!h.is_mounted());
    assert_gone(&f.mnt);
    // Unmounting the handle afterwards is a no-op, and the directory is usable again.
    h.unmount().expect("unmount after outside unmount");
    let h = mount(&f.archive, &f.mnt);
    assert_same_tree(&f.src, &f.mnt);
    drop(h);
    assert_gone(&f.mnt);
}

#[test]
fn a_busy_mount_is_detached_lazily() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let h = mount(&f.archive, &f.mnt);
    let file = fs::File::open(f.mnt.join("a/b/c/big.bin")).expect("open");
    match hexz_fuse::unmount(&f.mnt) {
        Err(e @ Error::Busy(_)) => assert!(e.to_string().contains("busy"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(is_mounted(&f.mnt));
    let start = Instant::now();
    h.unmount().expect("unmount");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_gone(&f.mnt);
    // The open file still reads until it is closed.
    let mut buf = vec![0u8; 4096];
    file.read_exact_at(&mut buf, 1 << 20)
        .expect("read after detach");
    let src = fs::read(f.src.join("a/b/c/big.bin")).expect("read");
    assert_eq!(buf, src[1 << 20..(1 << 20) + 4096]);
    drop(file);
}
