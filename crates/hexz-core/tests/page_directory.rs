//! The page directory (`docs/FORMAT.md` §7.8, format v2): an archive of more pages than
//! `pages_in_summary` lists them in directory frames; it reads back the same as one whose
//! summary lists them, its summary does not grow with the archive, a lookup reads one
//! directory frame and one page, and damaged directories are reported.

#![allow(clippy::unwrap_used)]

mod common;

use common::{build, open_mem, quiet_opts, Counting, Surgery};
use hexz_core::verify::verify;
use hexz_core::{Archive, DType, EntryMeta, WriteOptions};
use hexz_format::extension::types::PAGE_DIRECTORY;
use hexz_testkit::Rng;

/// `data` in 4 KiB blocks, `per_page` to an index page, then 34 record pages of
/// records.
fn archive(data: &[u8], per_page: u32, pages_in_summary: u32, pages_per_directory: u32) -> Vec<u8> {
    let opts = WriteOptions {
        block_size: 4096,
        entries_per_page: per_page,
        pages_in_summary,
        pages_per_directory,
        ..WriteOptions::default()
    };
    build(opts, |w| {
        w.add_bytes("data", data, EntryMeta::default())?;
        let rows: Vec<u8> = (0..140_000u32).flat_map(|i| i.to_le_bytes()).collect();
        w.add_array("ids", DType::U32, &[140_000], &rows)
    })
    .expect("packs")
}

fn all(a: &Archive) -> Vec<u8> {
    a.read_vec(0, a.len() as usize).unwrap()
}

#[test]
fn directory_and_summary_archives_read_the_same() {
    let noise = Rng::new(7).bytes(100 * 4096);
    let (listed, paged) = (archive(&noise, 4, 512, 512), archive(&noise, 4, 0, 3));
    let (s, p) = (
        open_mem(&listed, quiet_opts()).unwrap(),
        open_mem(&paged, quiet_opts()).unwrap(),
    );
    assert!(!s.summary().has_page_directory() && p.summary().has_page_directory());
    assert!(p.summary().index_pages.is_empty() && p.summary().record_pages.is_empty());
    assert_eq!(p.summary().index_page_count, s.summary().index_page_count);
    assert_eq!(p.summary().record_page_count, s.summary().record_page_count);
    assert!(p.summary().record_page_count > 3);
    assert_eq!(all(&p), all(&s));
    // The same blocks (where their bytes lie differs: the writers' frames do).
    let blocks = |a: &Archive| -> Vec<(u64, u32, [u8; 32])> {
        a.blocks()
            .map(|b| b.map(|b| (b.logical_offset, b.raw_len, b.hash)).unwrap())
            .collect()
    };
    assert!(blocks(&p) == blocks(&s));
    for i in [0, 4095, 4096, 139_999] {
        assert_eq!(p.record(i).unwrap(), s.record(i).unwrap(), "record {i}");
    }
    let mut rng = Rng::new(3);
    for _ in 0..200 {
        let at = rng.below(p.len());
        let mut a = [0u8; 100];
        let mut b = [0u8; 100];
        assert_eq!(
            p.read_at(at, &mut a).unwrap(),
            s.read_at(at, &mut b).unwrap()
        );
        assert_eq!(a, b, "at {at}");
    }
    let (rs, rp) = (verify(&s, &|_| {}).unwrap(), verify(&p, &|_| {}).unwrap());
    assert!(rp.is_ok(), "{:?}", rp.problems);
    // Every page as before, plus the directory frames (pages in frames of 3) and the
    // directory's own frame.
    let (index, records) = (
        p.summary().index_page_count as u64,
        p.summary().record_page_count as u64,
    );
    assert_eq!(
        rs.frames + index.div_ceil(3) + records.div_ceil(3) + 1,
        rp.frames
    );
}

#[test]
fn the_summary_does_not_grow_with_the_archive() {
    // 3,000 and 30,000 index pages (holes, one block to a page): past the default 512,
    // both use a page directory of 4,096 pages to a frame, and their summaries are the same
    // size.
    let zeros = vec![0u8; 30_000 * 4096];
    let (small, large) = (
        archive(&zeros[..3_000 * 4096], 1, 512, 4096),
        archive(&zeros, 1, 512, 4096),
    );
    let (a, b) = (
        open_mem(&small, quiet_opts()).unwrap(),
        open_mem(&large, quiet_opts()).unwrap(),
    );
    assert!(b.summary().index_page_count > 30_000);
    assert!(a.summary().has_page_directory() && b.summary().has_page_directory());
    assert_eq!(a.footer().summary_raw_len, b.footer().summary_raw_len);
    assert!(b.footer().summary_raw_len < 512);

    // Opening reads the header and one tail read; a read at the end then reads the
    // directory's frame, one directory frame, one index page and its block.
    let store = Counting::new(large.clone());
    let c = Archive::open_store(store.clone(), quiet_opts()).unwrap();
    let opened = store.read();
    assert!(opened <= 128 + 64 * 1024, "open read {opened} bytes");
    let mut buf = [0u8; 10];
    c.read_exact_at(c.len() - 10_000, &mut buf).unwrap();
    let read = store.read() - opened;
    let top = c.summary().extension(PAGE_DIRECTORY).unwrap().stored_len as u64;
    // A full directory frame is 4,096 PageRefs (256 KiB raw), an index page one entry.
    let bound = top + 256 * 1024 + 1024 + 64 + 1024 + 4096;
    assert!(
        read <= bound,
        "read {read} bytes for one lookup (bound {bound})"
    );
    assert_eq!(&buf[..], &all(&b)[b.len() as usize - 10_000..][..10]);
}

#[test]
fn a_damaged_directory_is_reported() {
    let bytes = archive(&Rng::new(7).bytes(100 * 4096), 4, 0, 3);
    let s = Surgery::new(&bytes);
    let top = s.summary.extension(PAGE_DIRECTORY).unwrap();
    let dir = hexz_format::PageDirectory::parse(&s.raw(&top), &s.summary, u64::MAX, false).unwrap();

    // A flipped byte in a directory frame: reads of its pages fail the checksum, `verify`
    // names the frame.
    let mut flipped = bytes.clone();
    let f = dir.index[5].frame;
    flipped[f.offset as usize + 3] ^= 1;
    let a = open_mem(&flipped, quiet_opts()).unwrap();
    assert!(
        a.read_vec(0, 4096).is_ok(),
        "other directory frames still read"
    );
    let at = 5 * 3 * 4 * 4096; // the first block of page 15, in directory frame 5
    let e = a.read_vec(at, 10).unwrap_err();
    assert!(e.is_corruption(), "{e}");
    let r = verify(&a, &|_| {}).unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("index page directory 5")),
        "{:?}",
        r.problems
    );

    // Directory frames listed in the wrong order (valid checksums): the first one read
    // does not start where the directory says.
    let mut s = Surgery::new(&bytes);
    let mut swapped = dir.clone();
    swapped.index.swap(1, 2);
    (swapped.index[1].first, swapped.index[2].first) = (dir.index[1].first, dir.index[2].first);
    s.summary.extensions[0].frame = s.append_frame(&swapped.encode());
    let a = open_mem(&s.finish(), quiet_opts()).unwrap();
    let e = a.read_vec(3 * 4 * 4096, 10).unwrap_err().to_string();
    assert!(e.contains("does not start where the directory says"), "{e}");

    // A directory whose frame count disagrees with the summary's page count.
    let mut s = Surgery::new(&bytes);
    let mut short = dir.clone();
    short.index.pop();
    s.summary.extensions[0].frame = s.append_frame(&short.encode());
    let e = open_mem(&s.finish(), quiet_opts())
        .unwrap()
        .read_vec(0, 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("frames for"), "{e}");
}
