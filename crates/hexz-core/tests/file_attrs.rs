//! File attributes (`docs/FORMAT.md` §7.6, format v2): recorded by the writer, read back by
//! `Archive::file_attrs`, absent from archives that record none, refused when crafted wrong.

mod common;

use common::{build, open_mem, quiet_opts, Surgery};
use hexz_core::verify::verify;
use hexz_core::{EntryKind, EntryMeta, FileAttrs, WriteOptions};
use hexz_testkit::replay::fixtures_dir;

fn meta() -> EntryMeta {
    EntryMeta {
        mode: 0o640,
        mtime_ns: 1_700_000_000_000_000_000,
    }
}

fn owned(uid: u32) -> FileAttrs {
    FileAttrs {
        owner: Some((uid, 100)),
        names: Some((format!("u{uid}"), "users".into())),
        xattrs: vec![(b"user.k".to_vec(), vec![uid as u8; 3])],
        ..FileAttrs::default()
    }
}

#[test]
fn attributes_special_files_and_hard_links_round_trip() {
    let bytes = build(WriteOptions::default(), |w| {
        w.add_bytes("a", b"first name of the data", meta())?;
        w.set_file_attrs("a", owned(7))?;
        w.add_hard_link("z/b", "a", meta())?;
        w.add_special("dev/null", EntryKind::CharDevice, meta(), (1, 3))?;
        w.add_special("fifo", EntryKind::Fifo, meta(), (0, 0))?;
        w.add_special("sock", EntryKind::Socket, meta(), (0, 0))?;
        w.add_bytes("plain", b"no attributes", meta())
    })
    .unwrap();
    let a = open_mem(&bytes, quiet_opts()).unwrap();
    assert_eq!(a.header().version, 2);
    let entries = a.entries().unwrap();
    let attrs = a.file_attrs().unwrap();
    assert_eq!(attrs.len(), entries.len());
    let of = |p: &str| a.file_attrs_of(p).unwrap().unwrap();
    // The hard link shares the data range and a link group with its first name.
    let (first, link) = (
        a.entry("a").unwrap().unwrap(),
        a.entry("z/b").unwrap().unwrap(),
    );
    assert_eq!(
        (first.data_offset, first.size),
        (link.data_offset, link.size)
    );
    assert_ne!(of("a").link_group, 0);
    assert_eq!(of("a").link_group, of("z/b").link_group);
    assert_eq!(of("a").owner, Some((7, 100)));
    assert_eq!(of("a").xattrs, owned(7).xattrs);
    assert_eq!(of("dev/null").rdev, (1, 3));
    assert_eq!(a.entry("fifo").unwrap().unwrap().kind, EntryKind::Fifo);
    assert_eq!(a.entry("sock").unwrap().unwrap().kind, EntryKind::Socket);
    assert!(of("plain").is_empty());
    assert!(verify(&a, &|_| {}).unwrap().is_ok());
    // Writer errors name the problem.
    let e = build(WriteOptions::default(), |w| {
        w.add_hard_link("x", "missing", meta())
    });
    assert!(e.unwrap_err().to_string().contains("missing"));
    let e = build(WriteOptions::default(), |w| {
        w.add_special("f", EntryKind::File, meta(), (0, 0))
    });
    assert!(e.unwrap_err().to_string().contains("not a device"));
}

#[test]
fn an_archive_without_attributes_has_no_extension() {
    let bytes = build(WriteOptions::default(), |w| w.add_bytes("a", b"x", meta())).unwrap();
    let a = open_mem(&bytes, quiet_opts()).unwrap();
    assert!(a.summary().extensions.is_empty());
    assert!(a.file_attrs().unwrap().is_empty());
    assert_eq!(a.file_attrs_of("a").unwrap(), None);
}

#[test]
fn kinds_of_v2_are_refused_in_a_v1_archive() {
    let v1 = std::fs::read(fixtures_dir().join("tree-lz4.hxz")).unwrap();
    let mut s = Surgery::new(&v1);
    assert_eq!(s.header.version, 1);
    let mut raw = s.raw(&s.summary.entries);
    raw[0] = 6; // a FIFO, in the first row
    s.summary.entries = s.append_frame(&raw);
    let a = open_mem(&s.finish(), quiet_opts()).unwrap();
    let e = a.entries().unwrap_err();
    assert!(e.to_string().contains("entry kind"), "{e}");
}

#[test]
fn crafted_attributes_are_refused_and_the_rest_still_reads() {
    let bytes = build(WriteOptions::default(), |w| {
        w.add_bytes("a", b"data", meta())?;
        w.set_file_attrs("a", owned(1))
    })
    .unwrap();
    let mut s = Surgery::new(&bytes);
    let row = s.summary.extensions[0];
    let mut raw = s.raw(&row.frame);
    raw[0] = 0x80; // a reserved flag
    s.summary.extensions[0].frame = s.append_frame(&raw);
    let a = open_mem(&s.finish(), quiet_opts()).unwrap();
    let e = a.file_attrs().unwrap_err();
    assert!(e.to_string().contains("file attribute flags"), "{e}");
    assert_eq!(a.read_vec(0, 4).unwrap(), b"data");
    assert!(!verify(&a, &|_| {}).unwrap().is_ok());
}
