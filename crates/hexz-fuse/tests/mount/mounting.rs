//! Mounting and unmounting: mountpoint errors, a session ended by an outside unmount, and a
//! busy mount detached lazily.

use crate::util::{assert_gone, assert_same_tree, can_mount, fixture, is_mounted, mount};
use hexz_core::{Archive, ReadOptions};
use hexz_fuse::{mount_background, Error, MountOptions};
use std::fs;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
