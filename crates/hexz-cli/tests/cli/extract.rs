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
