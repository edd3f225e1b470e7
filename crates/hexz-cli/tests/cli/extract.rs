//! `extract` never writes outside its directory, even through symlinks the archive creates.

use crate::util::{arg, fails, ok};
use hexz_core::{ArchiveWriter, EntryMeta, WriteOptions};
use std::path::Path;
use tempfile::TempDir;

fn meta() -> EntryMeta {
    EntryMeta {
        mode: 0o644,
        mtime_ns: 0,
    }
}

/// An archive holding a symlink `evil -> target` and then `evil/<inner>`.
fn evil_archive(path: &Path, target: &str, inner: impl FnOnce(&mut ArchiveWriter)) {
    let mut w = ArchiveWriter::create(path, WriteOptions::default()).expect("create");
    w.add_symlink("evil", target, meta()).expect("symlink");
    inner(&mut w);
    w.finish().expect("finish");
}

#[test]
fn refuses_to_write_through_an_absolute_symlink() {
    let t = TempDir::new().expect("tempdir");
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    let archive = t.path().join("evil.hxz");
    evil_archive(&archive, outside.to_str().expect("utf-8"), |w| {
        w.add_bytes("evil/x", b"pwned", meta()).expect("add");
    });
    let dest = arg(t.path(), "dest");
    let err = fails(["extract", archive.to_str().expect("utf-8"), &dest]);
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read_dir(&outside).expect("read_dir").count(), 0);
}

#[test]
fn refuses_relative_escapes_and_directories() {
    let t = TempDir::new().expect("tempdir");
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    let dest = t.path().join("dest");
    std::fs::create_dir(&dest).expect("mkdir");
    let archive = t.path().join("evil.hxz");
    // From dest/, `../outside` is the sibling directory.
    evil_archive(&archive, "../outside", |w| {
        w.add_dir_entry("evil/sub", meta()).expect("dir");
        w.add_bytes("evil/sub/x", b"pwned", meta()).expect("add");
        w.add_symlink("evil/link", "/etc/passwd", meta())
            .expect("symlink");
    });
    fails([
        "extract",
        archive.to_str().expect("utf-8"),
        dest.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read_dir(&outside).expect("read_dir").count(), 0);
}

#[test]
fn refuses_a_symlink_already_in_the_directory() {
    let t = TempDir::new().expect("tempdir");
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    let dest = t.path().join("dest");
    std::fs::create_dir(&dest).expect("mkdir");
    std::os::unix::fs::symlink(&outside, dest.join("d")).expect("symlink");
    let archive = t.path().join("a.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    w.add_bytes("d/x", b"data", meta()).expect("add");
    w.finish().expect("finish");
    fails([
        "extract",
        archive.to_str().expect("utf-8"),
        dest.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read_dir(&outside).expect("read_dir").count(), 0);
}

#[test]
fn replaces_a_symlink_at_a_file_path_without_following_it() {
    let t = TempDir::new().expect("tempdir");
    let victim = t.path().join("victim");
    std::fs::write(&victim, b"keep").expect("write");
    let dest = t.path().join("dest");
    std::fs::create_dir(&dest).expect("mkdir");
    std::os::unix::fs::symlink(&victim, dest.join("f")).expect("symlink");
    let archive = t.path().join("a.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    w.add_bytes("f", b"new", meta()).expect("add");
    w.finish().expect("finish");
    ok([
        "extract",
        "-q",
        archive.to_str().expect("utf-8"),
        dest.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
    assert_eq!(std::fs::read(dest.join("f")).expect("read"), b"new");
    assert!(!std::fs::symlink_metadata(dest.join("f"))
        .expect("lstat")
        .file_type()
        .is_symlink());
}

#[test]
fn a_damaged_entry_leaves_the_existing_file_untouched() {
    let t = TempDir::new().expect("tempdir");
    let archive = t.path().join("one.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    w.add_bytes("data.txt", &crate::util::noise(100_000, 3), meta())
        .expect("add");
    w.add_symlink("link", "data.txt", meta()).expect("symlink");
    w.finish().expect("finish");
    // The first data block starts right after the 128-byte header.
    let mut bytes = std::fs::read(&archive).expect("read");
    bytes[128 + 10] ^= 0x40;
    std::fs::write(&archive, bytes).expect("write");

    let dest = t.path().join("dest");
    std::fs::create_dir(&dest).expect("mkdir");
    std::fs::write(dest.join("data.txt"), b"precious").expect("write");
    let err = fails([
        "extract",
        archive.to_str().expect("utf-8"),
        dest.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("data.txt"), "{err}");
    assert_eq!(
        std::fs::read(dest.join("data.txt")).expect("read"),
        b"precious"
    );
    let names: Vec<_> = std::fs::read_dir(&dest)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["data.txt"], "no temporary file is left behind");
}

#[cfg(unix)]
#[test]
fn existing_files_and_symlinks_are_replaced_whole() {
    let t = TempDir::new().expect("tempdir");
    let archive = t.path().join("two.hxz");
    let mut w = ArchiveWriter::create(&archive, WriteOptions::default()).expect("create");
    w.add_bytes("a", b"new contents", meta()).expect("add");
    w.add_symlink("l", "a", meta()).expect("symlink");
    w.finish().expect("finish");
    let dest = t.path().join("dest");
    std::fs::create_dir(&dest).expect("mkdir");
    let outside = t.path().join("outside");
    std::fs::write(&outside, b"keep").expect("write");
    // A symlink at a file's path is replaced, not written through.
    std::os::unix::fs::symlink(&outside, dest.join("a")).expect("symlink");
    std::fs::write(dest.join("l"), b"old file where the link goes").expect("write");
    ok([
        "extract",
        "-q",
        archive.to_str().expect("utf-8"),
        dest.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        std::fs::read(dest.join("a")).expect("read"),
        b"new contents"
    );
    assert_eq!(std::fs::read(&outside).expect("read"), b"keep");
    assert_eq!(
        std::fs::read_link(dest.join("l")).expect("readlink"),
        Path::new("a")
    );
}
