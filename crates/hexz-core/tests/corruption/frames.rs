//! Damaged summary, index pages, entries table, record pages, record groups and metadata:
//! each is refused where it is used, the rest still reads, and verify names it.

use crate::common::Surgery;
use crate::util::{flip, integrity_err, layout, open, rich};
use hexz_core::verify::verify;
use hexz_format::FrameRef;

fn positions(f: &FrameRef) -> [u64; 3] {
    let n = f.stored_len as u64;
    [f.offset, f.offset + n / 2, f.offset + n - 1]
}

#[test]
fn every_flipped_summary_byte() {
    let f = rich();
    let l = layout(&f.bytes);
    for at in l.summary_offset..l.summary_offset + l.summary_len {
        let (what, detail) = integrity_err(open(&flip(&f.bytes, at, 0x04)), "summary");
        assert!(what.contains("summary"), "{what}");
        assert!(detail.contains("crc32c"), "{detail}");
    }
}

#[test]
fn flipped_index_page() {
    let f = rich();
    let l = layout(&f.bytes);
    let pages = Surgery::new(&f.bytes).summary.index_pages;
    for (p, page) in pages.iter().enumerate() {
        let other = &pages[1 - p];
        for at in positions(&page.frame) {
            let m = flip(&f.bytes, at, 0x10);
            let a = open(&m).unwrap();
            let (what, _) = integrity_err(a.read_vec(page.first + 5, 100), "index page");
            assert!(what.contains("index page"), "{what}");
            // The other page still serves its blocks.
            let o = other.first as usize + 3;
            assert!(a.read_vec(o as u64, 5000).unwrap() == f.logical[o..o + 5000]);
            let r = verify(&a, &|_| {}).unwrap();
            assert!(
                r.problems
                    .iter()
                    .any(|s| s.contains(&format!("index page {p}"))),
                "{:?}",
                r.problems
            );
        }
    }
    assert_eq!(
        l.blocks.len() as u64,
        Surgery::new(&f.bytes).summary.block_count
    );
}

#[test]
fn flipped_entries_table() {
    let f = rich();
    let entries = Surgery::new(&f.bytes).summary.entries;
    for at in positions(&entries) {
        let a = open(&flip(&f.bytes, at, 0x20)).unwrap();
        let (what, _) = integrity_err(a.entries(), "entries");
        assert!(what.contains("entries table"), "{what}");
        integrity_err(a.entry("docs"), "entry lookup");
        // Data reads do not need the entries table.
        assert!(a.read_vec(0, 1000).unwrap() == f.logical[..1000]);
        let r = verify(&a, &|_| {}).unwrap();
        assert!(!r.is_ok());
        assert!(
            r.problems.iter().any(|s| s.contains("entries table")),
            "{:?}",
            r.problems
        );
    }
}

#[test]
fn flipped_record_groups() {
    let f = rich();
    let groups = Surgery::new(&f.bytes).summary.record_groups;
    for at in positions(&groups) {
        let a = open(&flip(&f.bytes, at, 0x02)).unwrap();
        let (what, _) = integrity_err(a.record_groups(), "groups");
        assert!(what.contains("record groups"), "{what}");
        // A record's length is checked against its group's shape (§7.4), so records are
        // refused too, naming the same table.
        let (what, _) = integrity_err(a.record(0), "record 0");
        assert!(what.contains("record groups"), "{what}");
        assert!(!verify(&a, &|_| {}).unwrap().is_ok());
    }
}

#[test]
fn flipped_record_page() {
    let f = rich();
    let s = Surgery::new(&f.bytes).summary;
    let per = s.records_per_page as u64;
    for (p, page) in s.record_pages.iter().enumerate() {
        for at in positions(&page.frame) {
            let a = open(&flip(&f.bytes, at, 0x40)).unwrap();
            let (what, _) = integrity_err(a.record(p as u64 * per + 1), "record page");
            assert!(what.contains("record page"), "{what}");
            let other = (1 - p as u64) * per + 2;
            assert!(a.record(other).is_ok(), "record page {} unaffected", 1 - p);
            let r = verify(&a, &|_| {}).unwrap();
            assert!(
                r.problems
                    .iter()
                    .any(|s| s.contains(&format!("record page {p}"))),
                "{:?}",
                r.problems
            );
        }
    }
}

#[test]
fn flipped_metadata() {
    let f = rich();
    let meta = Surgery::new(&f.bytes).summary.metadata;
    for at in positions(&meta) {
        let a = open(&flip(&f.bytes, at, 0x01)).unwrap();
        let (what, _) = integrity_err(a.metadata(), "metadata");
        assert!(what.contains("metadata"), "{what}");
        assert!(!verify(&a, &|_| {}).unwrap().is_ok());
    }
}
