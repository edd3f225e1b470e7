//! Reading through the kernel: a packed tree against its source, implied directories and
//! mount options, a raw disk image and memory, and EIO for a corrupt block.

use crate::util::{assert_gone, assert_same_tree, can_mount, fixture, is_mounted, mount};
use hexz_core::{Archive, ArchiveWriter, EntryMeta, WriteOptions};
use hexz_fuse::{mount_background, MountOptions};
use hexz_testkit::data::{mixed, noise};
use hexz_testkit::tree::walk;
use std::fs;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::process::Command;
use tempfile::TempDir;

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
