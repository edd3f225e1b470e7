//! Sizes beyond the format's limits, written with valid checksums everywhere.

use crate::common::{fix_footer_crc, open_read::exercise, Surgery};
use crate::util::{self, format_err, open, put, small};
use hexz_format::Error as F;

fn rebuilt(edit: impl FnOnce(&mut Surgery)) -> Vec<u8> {
    let mut s = Surgery::new(&small().bytes);
    edit(&mut s);
    s.finish()
}

/// Rewrites field `at` of block entry `row` of index page 0.
fn index_edit(row: usize, at: usize, v: &[u8]) -> Vec<u8> {
    util::index_edit(&small().bytes, row, at, v)
}

fn entries_edit(row: usize, at: usize, v: &[u8]) -> Vec<u8> {
    rebuilt(|s| {
        let mut raw = s.raw(&s.summary.entries);
        put(&mut raw, row * 48 + at, v);
        s.summary.entries = s.append_frame(&raw);
    })
}

fn groups_edit(row: usize, at: usize, v: &[u8]) -> Vec<u8> {
    rebuilt(|s| {
        let mut raw = s.raw(&s.summary.record_groups);
        put(&mut raw, row * 48 + at, v);
        s.summary.record_groups = s.append_frame(&raw);
    })
}

#[test]
fn untouched_rewrite_is_valid() {
    let f = small();
    let m = rebuilt(|_| {});
    assert_ne!(m, f.bytes, "rewritten with uncompressed frames");
    let o = exercise(&m);
    assert!(o.verified && !o.detected, "{:?}", o.first_error);
    assert!(o.logical.as_deref() == Some(&f.logical[..]));
}

#[test]
fn block_raw_len() {
    for v in [1u32 << 30, u32::MAX, (16 << 20) + 1, 0] {
        let a = open(&index_edit(0, 20, &v.to_le_bytes())).unwrap();
        let e = format_err(a.read_vec(0, 10), "raw_len");
        assert!(
            matches!(e, F::Limit { what: "block raw_len", value, .. } if value == v as u64),
            "{v}: {e:?}"
        );
    }
}

#[test]
fn block_stored_len_and_offset() {
    let a = open(&index_edit(0, 16, &u32::MAX.to_le_bytes())).unwrap();
    let e = format_err(a.read_vec(0, 10), "stored_len");
    assert!(
        matches!(
            e,
            F::Limit {
                what: "block stored_len",
                ..
            }
        ),
        "{e:?}"
    );

    for off in [u64::MAX - 10, 1 << 40, 0, 127] {
        let a = open(&index_edit(0, 8, &off.to_le_bytes())).unwrap();
        let e = format_err(a.read_vec(0, 10), "stored_offset");
        assert!(
            matches!(e, F::OutOfBounds { what: "block", .. }),
            "{off}: {e:?}"
        );
    }
}

#[test]
fn block_logical_offset() {
    let a = open(&index_edit(0, 0, &(1u64 << 63).to_le_bytes())).unwrap();
    // Where, as data: index page 0 of this archive.
    match a.read_vec(0, 10) {
        Err(hexz_core::Error::Format { place, .. }) => {
            assert_eq!(place.part, hexz_core::Part::IndexPage { index: 0 });
            assert_eq!(place.archive, a.name());
        }
        other => panic!("expected Error::Format, got {:?}", other.err()),
    }
    let e = format_err(a.read_vec(0, 10), "logical_offset");
    assert!(
        matches!(
            e,
            F::Limit {
                what: "block logical end",
                ..
            }
        ),
        "{e:?}"
    );
    let a = open(&index_edit(1, 0, &7u64.to_le_bytes())).unwrap();
    let e = format_err(a.read_vec(0, 10), "overlap");
    assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
}

#[test]
fn summary_counts() {
    let f = |edit: fn(&mut hexz_format::Summary)| {
        format_err(open(&rebuilt(|s| edit(&mut s.summary))), "summary")
    };
    match open(&rebuilt(|s| s.summary.logical_size = u64::MAX)) {
        Err(hexz_core::Error::Format { place, .. }) => assert!(
            matches!(
                place.part,
                hexz_core::Part::Frame {
                    kind: "summary",
                    ..
                }
            ),
            "{place}"
        ),
        other => panic!("expected Error::Format, got {:?}", other.err()),
    }
    let e = f(|s| s.logical_size = u64::MAX);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "logical_size",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.entries_per_page = 1 << 20);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "rows per page",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.block_count = 1 << 40);
    assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
    let e = f(|s| s.records_per_page = u32::MAX);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "rows per page",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.parent_count = 1000);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "parent_count",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.record_count = 1 << 60);
    assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
}

#[test]
fn summary_frame_refs() {
    let f = |edit: fn(&mut hexz_format::Summary)| {
        format_err(open(&rebuilt(|s| edit(&mut s.summary))), "frame ref")
    };
    let e = f(|s| s.entries.raw_len = u32::MAX);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "entries table",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.metadata.raw_len = (1 << 30) + 1);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "metadata",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.index_pages[0].frame.raw_len = 1 << 30);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "index page",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.record_pages[0].frame.raw_len = u32::MAX);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "record page",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.entries.stored_len = u32::MAX);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "frame stored_len",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.record_groups.offset = u64::MAX - 3);
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "record groups table",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.index_pages[0].frame.offset = 5);
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "index page",
                ..
            }
        ),
        "{e:?}"
    );
    let e = f(|s| s.metadata.codec = 3);
    assert!(
        matches!(
            e,
            F::Invalid {
                what: "frame codec",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn footer_summary_sizes() {
    let f = small();
    let n = f.bytes.len();
    let mut m = f.bytes.clone();
    m[n - 52..n - 48].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_footer_crc(&mut m);
    let e = format_err(open(&m), "summary raw_len");
    assert!(
        matches!(
            e,
            F::Limit {
                what: "summary raw_len",
                ..
            }
        ),
        "{e:?}"
    );

    let mut m = f.bytes.clone();
    m[n - 56..n - 52].copy_from_slice(&u32::MAX.to_le_bytes());
    fix_footer_crc(&mut m);
    let e = format_err(open(&m), "summary stored_len");
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "summary",
                ..
            }
        ),
        "{e:?}"
    );

    let mut m = f.bytes.clone();
    m[n - 64..n - 56].copy_from_slice(&u64::MAX.to_le_bytes());
    fix_footer_crc(&mut m);
    let e = format_err(open(&m), "summary offset");
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "summary",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn entries_table_fields() {
    // Rows are sorted: 0 "a" (records have no entry), ... find "d/text" by reading.
    let a = open(&small().bytes).unwrap();
    let row = a
        .entries()
        .unwrap()
        .iter()
        .position(|e| e.path == "d/text")
        .unwrap();
    let get = |m: Vec<u8>| format_err(open(&m).unwrap().entries(), "entries");
    let e = get(entries_edit(row, 24, &u64::MAX.to_le_bytes()));
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "entry data",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(entries_edit(row, 16, &(u64::MAX - 2).to_le_bytes()));
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "entry data",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(entries_edit(row, 36, &(1u32 << 20).to_le_bytes()));
    assert!(
        matches!(
            e,
            F::Limit {
                what: "path length",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(entries_edit(row, 32, &u32::MAX.to_le_bytes()));
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "entry path",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(entries_edit(row, 44, &(5000u32).to_le_bytes()));
    assert!(
        matches!(
            e,
            F::Limit {
                what: "symlink target length",
                ..
            }
        ),
        "{e:?}"
    );
    // Kinds 4 to 7 exist from format v2 (devices, FIFOs, sockets); 8 in no version.
    let e = get(entries_edit(row, 0, &[8]));
    assert!(
        matches!(
            e,
            F::Invalid {
                what: "entry kind",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(entries_edit(row, 4, &0o10000u32.to_le_bytes()));
    assert!(
        matches!(
            e,
            F::Invalid {
                what: "entry mode",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(entries_edit(row, 1, &[1]));
    assert!(matches!(e, F::Reserved { what: "entry" }), "{e:?}");
    let e = format_err(
        open(&rebuilt(|s| s.summary.entry_count = 1 << 40))
            .unwrap()
            .entries(),
        "entry_count",
    );
    assert!(
        matches!(
            e,
            F::Truncated {
                what: "entries table",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn entry_path_rules() {
    // Overwrite the heap bytes of the first path with "..": a path escaping the tree.
    let m = rebuilt(|s| {
        let mut raw = s.raw(&s.summary.entries);
        let count = s.summary.entry_count as usize;
        let po = u32::from_le_bytes(raw[32..36].try_into().unwrap()) as usize;
        let pl = u32::from_le_bytes(raw[36..40].try_into().unwrap()) as usize;
        assert_eq!(pl, 1, "first entry is \"d\"");
        raw[count * 48 + po] = b'/';
        s.summary.entries = s.append_frame(&raw);
    });
    let e = format_err(open(&m).unwrap().entries(), "path");
    assert!(matches!(e, F::BadPath { .. }), "{e:?}");
}

#[test]
fn record_fields() {
    let m = rebuilt(|s| {
        let mut raw = s.raw(&s.summary.record_pages[0].frame);
        put(&mut raw, 16 + 8, &(1u64 << 62).to_le_bytes());
        s.summary.record_pages[0].frame = s.append_frame(&raw);
    });
    let a = open(&m).unwrap();
    let e = format_err(a.record(1), "record length");
    assert!(matches!(e, F::OutOfBounds { what: "record", .. }), "{e:?}");
}

#[test]
fn record_group_fields() {
    let get = |m: Vec<u8>| format_err(open(&m).unwrap().record_groups(), "groups");
    let e = get(groups_edit(0, 28, &[200]));
    assert!(matches!(e, F::Limit { what: "ndim", .. }), "{e:?}");
    let e = get(groups_edit(0, 20, &(1u32 << 20).to_le_bytes()));
    assert!(
        matches!(
            e,
            F::Limit {
                what: "group name length",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(groups_edit(0, 24, &u32::MAX.to_le_bytes()));
    assert!(
        matches!(
            e,
            F::OutOfBounds {
                what: "group dims",
                ..
            }
        ),
        "{e:?}"
    );
    let e = get(groups_edit(0, 29, &[16]));
    assert!(matches!(e, F::Invalid { what: "dtype", .. }), "{e:?}");
    let e = get(groups_edit(0, 8, &u64::MAX.to_le_bytes()));
    assert!(matches!(e, F::Inconsistent(_)), "{e:?}");
    // A shape whose sample size overflows u64.
    let m = rebuilt(|s| {
        let mut raw = s.raw(&s.summary.record_groups);
        let dims = u32::from_le_bytes(raw[24..28].try_into().unwrap()) as usize;
        let heap = s.summary.record_group_count as usize * 48;
        put(&mut raw, heap + dims, &u64::MAX.to_le_bytes());
        s.summary.record_groups = s.append_frame(&raw);
    });
    let e = get(m);
    assert!(
        matches!(
            e,
            F::Limit {
                what: "sample size",
                ..
            }
        ),
        "{e:?}"
    );
}
