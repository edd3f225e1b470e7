//! Golden fixtures of format v2 (`tests/fixtures/v2/`), committed once and never regenerated:
//! an empty archive, one with every kind of file metadata (§7.6), a multi-page Zstandard one
//! with records, a signed unencrypted one, entry pages (§7.7), a page directory (§7.8), and
//! corrupt ones. `expected.json` records what a
//! reader must decode from each, or the error it must refuse it with.
//!
//! `generate_v2_fixtures` wrote them (`cargo test -p hexz-core --test golden -- --ignored
//! generate_v2_fixtures`); it does nothing while `expected.json` exists.

use super::generate::describe_archive;
use super::{b3, hex};
use crate::common::Surgery;
use hexz_core::sign::SigningKey;
use hexz_core::verify::verify;
use hexz_core::{
    Archive, ArchiveWriter, CdcSizes, Chunking, Compression, DType, EntryKind, EntryMeta, Error,
    FileAttrs, ThinParent, WriteOptions,
};
use hexz_format::extension::types::PAGE_DIRECTORY;
use hexz_format::{ExtensionRef, PageRef};
use hexz_testkit::Rng;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

fn dir() -> PathBuf {
    hexz_testkit::replay::fixtures_v2_dir()
}

fn meta(mode: u32, mtime_ns: i64) -> EntryMeta {
    EntryMeta { mode, mtime_ns }
}

/// The signing key of `signed.hxz` (Ed25519 is deterministic: the same bytes every time).
fn signing_key() -> SigningKey {
    SigningKey::from_seed(&[0x32; 32])
}

fn opts(id: &[u8; 16]) -> WriteOptions {
    WriteOptions {
        block_size: 4096,
        threads: 1,
        archive_id: Some(*id),
        ..WriteOptions::default()
    }
}

/// The attributes given to `owned` in `tree-attrs.hxz`.
fn owned_attrs() -> FileAttrs {
    FileAttrs {
        owner: Some((1234, 4321)),
        names: Some(("alice".into(), "staff".into())),
        atime_ns: Some(1_700_000_100_000_000_001),
        ctime_ns: Some(1_700_000_200_000_000_002),
        xattrs: vec![
            (
                b"system.posix_acl_access".to_vec(),
                hexz_testkit::tree::posix_acl_granting(1234),
            ),
            (b"trusted.secret".to_vec(), b"root only".to_vec()),
            (b"user.note".to_vec(), b"hello".to_vec()),
        ],
        ..FileAttrs::default()
    }
}

fn tree_attrs(w: &mut ArchiveWriter) -> hexz_core::Result<()> {
    let m = meta(0o644, 1_700_000_000_000_000_000);
    w.add_dir_entry("etc", meta(0o755, 1_700_000_000_000_000_000))?;
    w.add_bytes(
        "etc/passwd",
        b"root:x:0:0::/root:/bin/sh\n",
        meta(0o4755, 1),
    )?;
    w.add_hard_link("etc/passwd.link", "etc/passwd", meta(0o4755, 1))?;
    w.add_bytes("owned", b"belongs to alice", m)?;
    w.set_file_attrs("owned", owned_attrs())?;
    w.add_symlink("link", "etc/passwd", meta(0o777, 2))?;
    w.add_special("dev/null", EntryKind::CharDevice, meta(0o666, 3), (1, 3))?;
    w.add_special("dev/loop9", EntryKind::BlockDevice, meta(0o660, 4), (7, 9))?;
    w.add_special("fifo", EntryKind::Fifo, meta(0o600, 5), (0, 0))?;
    w.add_special("sock", EntryKind::Socket, meta(0o755, 6), (0, 0))?;
    w.add_bytes("sparse", &[vec![0u8; 12288], b"x".to_vec()].concat(), m)
}

/// Every entry with its decoded bytes' hash and its file attributes, as JSON.
fn entries_json(a: &Archive) -> Value {
    let attrs = a.file_attrs().unwrap();
    let entries: Vec<Value> = a
        .entries()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut buf = vec![0u8; e.size as usize];
            assert_eq!(a.read_entry_at(e, 0, &mut buf).unwrap(), buf.len());
            let at = attrs.get(i).cloned().unwrap_or_default();
            json!({
                "path": e.path, "kind": e.kind.name(), "mode": e.mode, "mtime_ns": e.mtime_ns,
                "size": e.size, "target": e.target, "blake3": b3(&buf),
                "owner": at.owner, "names": at.names, "atime_ns": at.atime_ns,
                "ctime_ns": at.ctime_ns, "rdev": [at.rdev.0, at.rdev.1],
                "link_group": at.link_group,
                "xattrs": at.xattrs.iter().map(|(k, v)| json!([hex(k), hex(v)])).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!(entries)
}

/// What a reader must decode from a valid fixture.
fn record(bytes: &[u8]) -> Value {
    let a = Archive::open_store(
        Arc::new(hexz_core::MemStore::new(bytes.to_vec())),
        Default::default(),
    )
    .unwrap();
    record_of(&a, bytes)
}

/// [`record`] of an archive already open, whose file holds `bytes`.
fn record_of(a: &Archive, bytes: &[u8]) -> Value {
    let mut d = describe_archive(a, bytes);
    d["version"] = json!(a.header().version);
    d["entries"] = entries_json(a);
    d["extensions"] = json!(a
        .summary()
        .extensions
        .iter()
        .map(|x| x.kind)
        .collect::<Vec<_>>());
    d["records"] = json!(a.record_count());
    d["metadata"] = json!(a.metadata().unwrap().map(|m| String::from_utf8(m).unwrap()));
    d["signer"] = json!(a.signature().map(|s| hex(&s.public_key)));
    d
}

fn write(
    name: &str,
    opts: WriteOptions,
    f: impl FnOnce(&mut ArchiveWriter) -> hexz_core::Result<()>,
) -> Vec<u8> {
    let path = dir().join(name);
    let mut w = ArchiveWriter::create(&path, opts).unwrap();
    f(&mut w).unwrap();
    w.finish().unwrap();
    std::fs::read(&path).unwrap()
}

#[test]
#[ignore = "writes tests/fixtures/v2 once; golden fixtures are never regenerated"]
fn generate_v2_fixtures() {
    if dir().join("expected.json").exists() {
        eprintln!("tests/fixtures/v2 exists; golden fixtures are never regenerated");
        return;
    }
    std::fs::create_dir_all(dir()).unwrap();
    let mut expected = serde_json::Map::new();
    let mut keep = |name: &str, bytes: &[u8]| {
        expected.insert(name.into(), record(bytes));
    };
    let empty = write("empty.hxz", opts(b"hexz-v2-empty..."), |_| Ok(()));
    keep("empty.hxz", &empty);
    let tree = write("tree-attrs.hxz", opts(b"hexz-v2-attrs..."), tree_attrs);
    keep("tree-attrs.hxz", &tree);
    let paged = WriteOptions {
        compression: Compression::Zstd(3),
        entries_per_page: 3,
        ..opts(b"hexz-v2-paged...")
    };
    let pages = write("multi-page-zstd.hxz", paged, multi_page);
    keep("multi-page-zstd.hxz", &pages);
    let signed = WriteOptions {
        signing_key: Some(Arc::new(signing_key())),
        ..opts(b"hexz-v2-signed..")
    };
    let signed = write("signed.hxz", signed, |w| {
        w.add_bytes("a.txt", b"signed, not encrypted\n", meta(0o644, 9))
    });
    keep("signed.hxz", &signed);

    // Corrupt ones, each breaking one rule, with valid checksums.
    let mut corrupt = |name: &str, bytes: Vec<u8>, error: &str| {
        std::fs::write(dir().join(name), &bytes).unwrap();
        expected.insert(
            name.into(),
            json!({"file_len": bytes.len(), "file_blake3": b3(&bytes), "error": error}),
        );
    };
    let mut s = Surgery::new(&tree);
    let frame = s.append_frame(b"needed by a later version");
    s.summary.extensions.push(ExtensionRef {
        kind: 9,
        critical: true,
        frame,
    });
    corrupt(
        "corrupt-critical-extension.hxz",
        s.finish(),
        "unsupported: extension type 9",
    );
    let mut s = Surgery::new(&tree);
    let mut raw = s.raw(&s.summary.extensions[0].frame);
    raw[0] = 0x80;
    s.summary.extensions[0].frame = s.append_frame(&raw);
    corrupt(
        "corrupt-attrs-flags.hxz",
        s.finish(),
        "reserved: file attribute flags",
    );
    let mut bytes = tree.clone();
    bytes[8] = 1; // header version 1 on a v2 file
    crate::common::fix_header_crc(&mut bytes);
    corrupt(
        "corrupt-version-mismatch.hxz",
        bytes,
        "inconsistent: header version 1, footer 2",
    );
    let mut bytes = signed.clone();
    let at = bytes.len() - 64 - 144;
    bytes[at + 12] = 143; // block_len 143, not the 144 to the footer
    corrupt(
        "corrupt-signature-length.hxz",
        bytes,
        "invalid: signature block length",
    );

    let text = serde_json::to_string_pretty(&Value::Object(expected)).unwrap();
    std::fs::write(dir().join("expected.json"), text + "\n").unwrap();
}

/// `entry-pages.hxz`: 40 entries in pages of 8 (§7.7), some with attributes. Added to the set
/// after the others; like them, written once and never regenerated.
#[test]
#[ignore = "adds tests/fixtures/v2/entry-pages.hxz once; golden fixtures are never regenerated"]
fn generate_v2_entry_pages_fixture() {
    let mut all = expected();
    if all.get("entry-pages.hxz").is_some() {
        eprintln!("entry-pages.hxz exists; golden fixtures are never regenerated");
        return;
    }
    let paged = WriteOptions {
        entry_page_rows: 8,
        ..opts(b"hexz-v2-pages...")
    };
    let bytes = write("entry-pages.hxz", paged, entry_pages);
    all["entry-pages.hxz"] = record(&bytes);
    let text = serde_json::to_string_pretty(&all).unwrap();
    std::fs::write(dir().join("expected.json"), text + "\n").unwrap();
}

/// `page-directory.hxz`: the contents of `multi-page-zstd.hxz`, its 4 index pages and one
/// record page found through a page directory of frames of 2 (§7.8); and two corrupt ones.
/// Added to the set after the others; like them, written once and never regenerated.
#[test]
#[ignore = "adds tests/fixtures/v2/page-directory.hxz once; golden fixtures are never regenerated"]
fn generate_v2_page_directory_fixtures() {
    let mut all = expected();
    if all.get("page-directory.hxz").is_some() {
        eprintln!("page-directory.hxz exists; golden fixtures are never regenerated");
        return;
    }
    let paged = WriteOptions {
        compression: Compression::Zstd(3),
        entries_per_page: 3,
        pages_in_summary: 0,
        pages_per_directory: 2,
        ..opts(b"hexz-v2-pagedir.")
    };
    let bytes = write("page-directory.hxz", paged, multi_page);
    all["page-directory.hxz"] = record(&bytes);
    let mut corrupt = |name: &str, bytes: Vec<u8>, error: &str| {
        std::fs::write(dir().join(name), &bytes).unwrap();
        all[name] = json!({"file_len": bytes.len(), "file_blake3": b3(&bytes), "error": error});
    };
    // The second index directory frame's `first` one byte late: refused when read.
    let mut s = Surgery::new(&bytes);
    let top = s.summary.extension(PAGE_DIRECTORY).unwrap();
    let mut raw = s.raw(&top);
    let at = 16 + 64 + 56; // fixed part, directory row 0, row 1's FrameRef
    let first = u64::from_le_bytes(raw[at..at + 8].try_into().unwrap());
    raw[at..at + 8].copy_from_slice(&(first + 1).to_le_bytes());
    s.summary.extensions[0].frame = s.append_frame(&raw);
    corrupt(
        "corrupt-page-directory-start.hxz",
        s.finish(),
        "inconsistent: index page directory 1 does not start where the directory says",
    );
    // PageRefs in the summary beside a page directory: the summary's length is wrong.
    let mut s = Surgery::new(&bytes);
    s.summary.index_pages.push(PageRef {
        frame: top,
        first: 0,
    });
    corrupt(
        "corrupt-page-directory-inline.hxz",
        s.finish(),
        "invalid: summary length",
    );
    let text = serde_json::to_string_pretty(&all).unwrap();
    std::fs::write(dir().join("expected.json"), text + "\n").unwrap();
}

/// `cdc.hxz` (content-defined chunks, §4 `CDC`), `thin-base.hxz` and `thin.hxz` (a thin
/// archive on it, §8), and three thin archives that cannot be read: one whose parent is
/// missing, one whose parent is another archive, and one whose parent has a flipped byte.
/// Added to the set after the others; like them, written once and never regenerated.
#[test]
#[ignore = "adds the thin and CDC fixtures to tests/fixtures/v2 once; never regenerated"]
fn generate_v2_thin_fixtures() {
    let mut all = expected();
    if all.get("thin.hxz").is_some() {
        eprintln!("thin.hxz exists; golden fixtures are never regenerated");
        return;
    }
    let cdc = |id: &[u8; 16]| WriteOptions {
        chunking: Chunking::Cdc(CdcSizes {
            min: 1024,
            avg: 4096,
            max: 16384,
        }),
        block_size: 4096,
        ..opts(id)
    };
    let (v1, v2) = thin_versions();
    let bytes = write("cdc.hxz", cdc(b"hexz-v2-cdc....."), |w| {
        w.add_bytes("v1.bin", &v1, meta(0o644, 1))?;
        w.add_bytes("v2.bin", &v2, meta(0o644, 2))
    });
    all["cdc.hxz"] = record(&bytes);
    let base = write("thin-base.hxz", cdc(b"hexz-v2-thinbase"), |w| {
        w.add_bytes("data.bin", &v1, meta(0o644, 1))
    });
    all["thin-base.hxz"] = record(&base);
    let thin = |name: &str, parent: &str, id: &[u8; 16]| {
        let opts = WriteOptions {
            parent: Some(ThinParent {
                archive: Arc::new(Archive::open(dir().join("thin-base.hxz")).unwrap()),
                location: parent.into(),
            }),
            ..cdc(id)
        };
        write(name, opts, |w| w.add_bytes("data.bin", &v2, meta(0o644, 2)))
    };
    let bytes = thin("thin.hxz", "thin-base.hxz", b"hexz-v2-thin....");
    let a = Archive::open(dir().join("thin.hxz")).unwrap();
    all["thin.hxz"] = record_of(&a, &bytes);
    let mut corrupt = |name: &str, bytes: Vec<u8>, error: &str| {
        all[name] = json!({"file_len": bytes.len(), "file_blake3": b3(&bytes), "error": error});
    };
    let bytes = thin(
        "corrupt-thin-missing-parent.hxz",
        "no-such-parent.hxz",
        b"hexz-v2-thin-mis",
    );
    corrupt(
        "corrupt-thin-missing-parent.hxz",
        bytes,
        "parent missing: no-such-parent.hxz",
    );
    // Recorded as `cdc.hxz`, which is not the archive it was written on.
    let bytes = thin(
        "corrupt-thin-wrong-parent.hxz",
        "cdc.hxz",
        b"hexz-v2-thin-wro",
    );
    corrupt(
        "corrupt-thin-wrong-parent.hxz",
        bytes,
        "parent mismatch: cdc.hxz",
    );
    // A parent whose first block has a flipped byte: same id and root hash (blocks are
    // covered by their index entries' crc and hash, not the root hash), so it opens, and the
    // damage shows when a block of it is read.
    let mut flipped = base.clone();
    flipped[200] ^= 1;
    std::fs::write(dir().join("corrupt-thin-flipped-base.hxz"), &flipped).unwrap();
    corrupt(
        "corrupt-thin-flipped-base.hxz",
        flipped,
        "integrity: block 0 (crc32c), when read",
    );
    let bytes = thin(
        "corrupt-thin-flipped-parent.hxz",
        "corrupt-thin-flipped-base.hxz",
        b"hexz-v2-thin-fli",
    );
    corrupt(
        "corrupt-thin-flipped-parent.hxz",
        bytes,
        "integrity: its parent's block 0, when read",
    );
    let text = serde_json::to_string_pretty(&all).unwrap();
    std::fs::write(dir().join("expected.json"), text + "\n").unwrap();
}

/// Two versions of a file for the thin and CDC fixtures: 48 KiB of seeded bytes, and the
/// same with 100 bytes inserted at 10,000 and 16 changed at 30,000.
fn thin_versions() -> (Vec<u8>, Vec<u8>) {
    let v1 = Rng::new(0x7417).bytes(48 << 10);
    let mut v2 = v1.clone();
    v2.splice(10_000..10_000, Rng::new(0x7418).bytes(100));
    v2[30_000..30_016].copy_from_slice(&[0xAB; 16]);
    (v1, v2)
}

/// Two files over several index pages (Zstandard and stored blocks), 16 records, metadata.
fn multi_page(w: &mut ArchiveWriter) -> hexz_core::Result<()> {
    w.add_bytes(
        "text",
        &b"zstd frames, several index pages. ".repeat(900),
        meta(0o644, 7),
    )?;
    w.add_bytes("noise", &Rng::new(0x2222).bytes(9000), meta(0o600, 8))?;
    let rows: Vec<u8> = (0..64u16).flat_map(|i| i.to_le_bytes()).collect();
    w.add_array("labels", DType::U16, &[16, 4], &rows)?;
    w.set_metadata(br#"{"fixture":"multi-page-zstd","version":2}"#)
}

fn entry_pages(w: &mut ArchiveWriter) -> hexz_core::Result<()> {
    for i in 0..40u32 {
        let path = format!("dir{}/file{i:02}", i % 3);
        w.add_bytes(
            &path,
            format!("entry {i}\n").as_bytes(),
            meta(0o644, i as i64),
        )?;
        if i % 4 == 0 {
            let attrs = FileAttrs {
                owner: Some((1000 + i, 100)),
                ..FileAttrs::default()
            };
            w.set_file_attrs(&path, attrs)?;
        }
    }
    Ok(())
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

fn load(name: &str) -> (Vec<u8>, Value) {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    let e = expected()[name].clone();
    assert_eq!(b3(&bytes), e["file_blake3"], "{name} was modified");
    (bytes, e)
}

#[test]
fn valid_fixtures_read_as_recorded() {
    for name in [
        "empty.hxz",
        "tree-attrs.hxz",
        "multi-page-zstd.hxz",
        "signed.hxz",
        "entry-pages.hxz",
        "page-directory.hxz",
        "cdc.hxz",
        "thin-base.hxz",
        "thin.hxz",
    ] {
        let (bytes, e) = load(name);
        // A thin archive is opened from its file, beside its parent.
        let a = Archive::open(dir().join(name)).unwrap();
        assert_eq!(record_of(&a, &bytes), e, "{name}");
        let a = Archive::open(dir().join(name)).unwrap();
        assert_eq!(a.header().version, 2, "{name}");
        let r = verify(&a, &|_| {}).unwrap();
        assert!(r.is_ok(), "{name}: {:?}", r.problems);
    }
}

/// The inputs, recomputed: what the writer was given is what the fixtures hold.
#[test]
fn fixtures_hold_their_inputs() {
    let a = Archive::open(dir().join("tree-attrs.hxz")).unwrap();
    assert_eq!(a.file_attrs_of("owned").unwrap().unwrap(), owned_attrs());
    assert_eq!(a.file_attrs_of("dev/loop9").unwrap().unwrap().rdev, (7, 9));
    let (p, l) = (
        a.file_attrs_of("etc/passwd").unwrap().unwrap(),
        a.file_attrs_of("etc/passwd.link").unwrap().unwrap(),
    );
    assert!(p.link_group != 0 && p.link_group == l.link_group);
    assert_eq!(a.entry("sock").unwrap().unwrap().kind, EntryKind::Socket);
    let a = Archive::open(dir().join("multi-page-zstd.hxz")).unwrap();
    assert!(a.summary().index_pages.len() > 2);
    assert_eq!(a.record_count(), 16);
    // The same contents as multi-page-zstd.hxz, its pages behind a page directory.
    let (m, d) = (
        Archive::open(dir().join("multi-page-zstd.hxz")).unwrap(),
        Archive::open(dir().join("page-directory.hxz")).unwrap(),
    );
    assert!(d.summary().index_pages.is_empty() && d.summary().index_page_count > 2);
    assert_eq!(d.summary().index_page_count, m.summary().index_page_count);
    let all = |a: &Archive| a.read_vec(0, a.len() as usize).unwrap();
    assert_eq!(all(&d), all(&m));
    assert_eq!(
        d.blocks().map(Result::unwrap).count() as u64,
        m.summary().block_count
    );
    assert_eq!(d.record(15).unwrap(), m.record(15).unwrap());
    let (v1, v2) = thin_versions();
    let a = Archive::open(dir().join("cdc.hxz")).unwrap();
    assert!(a.header().optional.has(hexz_format::OptionalFeatures::CDC));
    let second = a.entry("v2.bin").unwrap().unwrap();
    let mut buf = vec![0u8; v2.len()];
    a.read_entry_at(&second, 0, &mut buf).unwrap();
    assert!(buf == v2);
    let a = Archive::open(dir().join("thin.hxz")).unwrap();
    assert!(a.read_vec(0, v2.len()).unwrap() == v2);
    let parent_held = a
        .blocks()
        .filter(|b| b.as_ref().unwrap().parent.is_some())
        .count();
    assert!(
        parent_held * 2 > a.summary().block_count as usize,
        "{parent_held}"
    );
    let (row, _, base) = a.parents().next().unwrap();
    assert_eq!(row.path, "thin-base.hxz");
    assert!(base.read_vec(0, v1.len()).unwrap() == v1);
    let a = Archive::open(dir().join("entry-pages.hxz")).unwrap();
    assert_eq!(a.entry_page_frames().unwrap().len(), 5);
    let attrs = a.file_attrs_of("dir1/file04").unwrap().unwrap();
    assert_eq!(attrs.owner, Some((1004, 100)));
    let a = Archive::open(dir().join("signed.hxz")).unwrap();
    assert_eq!(
        a.signature().unwrap().public_key,
        signing_key().verifying_key().to_bytes()
    );
    let opts = hexz_core::ReadOptions {
        verify_key: Some(signing_key().verifying_key()),
        ..Default::default()
    };
    assert!(Archive::open_with_options(dir().join("signed.hxz"), opts).is_ok());
}

#[test]
fn corrupt_fixtures_are_refused_as_recorded() {
    let open = |name: &str| Archive::open(dir().join(name));
    load("corrupt-critical-extension.hxz");
    assert!(
        matches!(open("corrupt-critical-extension.hxz"), Err(Error::Unsupported(m)) if m.contains("extension type 9"))
    );
    load("corrupt-attrs-flags.hxz");
    let a = open("corrupt-attrs-flags.hxz").unwrap();
    assert!(a
        .file_attrs()
        .unwrap_err()
        .to_string()
        .contains("file attribute flags"));
    load("corrupt-version-mismatch.hxz");
    let e = open("corrupt-version-mismatch.hxz")
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("version 1, the footer 2"), "{e}");
    load("corrupt-signature-length.hxz");
    let e = open("corrupt-signature-length.hxz")
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("signature block length"), "{e}");
    load("corrupt-thin-missing-parent.hxz");
    let e = open("corrupt-thin-missing-parent.hxz")
        .err()
        .expect("refused");
    assert!(
        matches!(&e, Error::ParentMissing(m) if m.contains("no-such-parent.hxz")),
        "{e}"
    );
    load("corrupt-thin-wrong-parent.hxz");
    let e = open("corrupt-thin-wrong-parent.hxz")
        .err()
        .expect("refused");
    assert!(
        matches!(&e, Error::ParentMismatch(m) if m.contains("cdc.hxz")),
        "{e}"
    );
    load("corrupt-thin-flipped-base.hxz");
    load("corrupt-thin-flipped-parent.hxz");
    let a = open("corrupt-thin-flipped-parent.hxz").unwrap();
    let e = a.read_vec(0, 4096).unwrap_err();
    assert!(matches!(e, Error::Integrity { .. }), "{e}");
    let r = verify(&a, &|_| {}).unwrap();
    assert!(
        r.problems.iter().any(|p| p.starts_with("parent ")),
        "{:?}",
        r.problems
    );
    load("corrupt-page-directory-start.hxz");
    let a = open("corrupt-page-directory-start.hxz").unwrap();
    let e = a.read_vec(0, a.len() as usize).unwrap_err().to_string();
    assert!(e.contains("does not start where the directory says"), "{e}");
    load("corrupt-page-directory-inline.hxz");
    let e = open("corrupt-page-directory-inline.hxz")
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("summary length"), "{e}");
}
