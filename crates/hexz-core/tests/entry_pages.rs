//! Entry pages (`docs/FORMAT.md` §7.7, format v2): a tree of more entries than
//! `entry_page_rows` is written as pages with their attributes and a directory of first
//! paths; it reads back the same as one table, a lookup by path reads one page, and crafted
//! pages are refused.

mod common;

use common::{build, open_mem, quiet_opts, Counting, Surgery};
use hexz_core::verify::verify;
use hexz_core::{EntryMeta, FileAttrs, WriteOptions};
use hexz_format::extension::types::{ENTRY_PAGES, FILE_ATTRIBUTES};

const N: usize = 1000;

fn tree(rows: u32) -> Vec<u8> {
    let opts = WriteOptions {
        entry_page_rows: rows,
        block_size: 4096,
        ..WriteOptions::default()
    };
    build(opts, |w| {
        for i in 0..N {
            let path = format!("d{:02}/f{i:05}", i % 17);
            w.add_bytes(&path, format!("file {i}").as_bytes(), EntryMeta::default())?;
            if i % 3 == 0 {
                let attrs = FileAttrs {
                    owner: Some((i as u32, 7)),
                    ..FileAttrs::default()
                };
                w.set_file_attrs(&path, attrs)?;
            }
        }
        Ok(())
    })
    .expect("a tree of 1,000 entries packs")
}

#[test]
fn paged_and_single_table_archives_read_the_same() {
    let (paged, single) = (tree(64), tree(65_536));
    let (p, s) = (
        open_mem(&paged, quiet_opts()).unwrap(),
        open_mem(&single, quiet_opts()).unwrap(),
    );
    let kinds = |a: &hexz_core::Archive| -> Vec<u16> {
        a.summary().extensions.iter().map(|x| x.kind).collect()
    };
    assert_eq!(kinds(&p), vec![ENTRY_PAGES]);
    assert_eq!(kinds(&s), vec![FILE_ATTRIBUTES]);
    assert!(p.summary().entries.is_absent());
    assert_eq!(p.entry_page_frames().unwrap().len(), N.div_ceil(64));
    assert_eq!(p.entries().unwrap(), s.entries().unwrap());
    assert_eq!(p.file_attrs().unwrap(), s.file_attrs().unwrap());
    for path in [
        "d03/f00003",
        "d16/f00999",
        "d00/f00000",
        "nope",
        "d05/f00005/x",
    ] {
        assert_eq!(p.entry(path).unwrap(), s.entry(path).unwrap(), "{path}");
    }
    assert!(verify(&p, &|_| {}).unwrap().is_ok());
}

#[test]
fn a_lookup_by_path_reads_the_directory_and_one_page() {
    let bytes = tree(64);
    let store = Counting::new(bytes.clone());
    let a = hexz_core::Archive::open_store(store.clone(), quiet_opts()).unwrap();
    let opened = store.read();
    let e = a.entry("d07/f00500").unwrap().unwrap();
    let read = store.read() - opened;
    let pages = a.entry_page_frames().unwrap();
    let largest = pages.iter().map(|f| f.stored_len as u64).max().unwrap();
    let dir = a.summary().extensions[0].frame.stored_len as u64;
    assert!(
        read <= dir + largest,
        "read {read} bytes, directory {dir} + one page {largest}"
    );
    assert_eq!(e.size, "file 500".len() as u64);
    // Another path of the same page (rows of 64, in path order): nothing more is read.
    let all = open_mem(&bytes, quiet_opts()).unwrap().entries().unwrap();
    let i = all.iter().position(|x| x.path == "d07/f00500").unwrap();
    let j = if (i + 1) % 64 != 0 { i + 1 } else { i - 1 };
    let before = store.read();
    assert!(a.entry(&all[j].path).unwrap().is_some());
    assert_eq!(store.read(), before, "the page is kept");
}

#[test]
fn crafted_pages_are_refused() {
    let bytes = tree(64);
    // Two pages swapped in the directory: out of path order.
    let mut s = Surgery::new(&bytes);
    let dir_ref = s.summary.extensions[0].frame;
    let mut dir =
        hexz_format::entry_pages::parse_dir(&s.raw(&dir_ref), N as u64, u64::MAX, false).unwrap();
    dir.pages.swap(1, 2);
    dir.pages[1].first_row = 64;
    dir.pages[2].first_row = 128;
    let raw = hexz_format::entry_pages::encode_dir(&dir);
    s.summary.extensions[0].frame = s.append_frame(&raw);
    let e = open_mem(&s.finish(), quiet_opts())
        .unwrap()
        .entries()
        .unwrap_err();
    assert!(e.to_string().contains("out of path order"), "{e}");
    // A page of fewer rows than the directory says.
    let mut s = Surgery::new(&bytes);
    let dir = hexz_format::entry_pages::parse_dir(
        &s.raw(&s.summary.extensions[0].frame),
        N as u64,
        u64::MAX,
        false,
    )
    .unwrap();
    let page = s.raw(&dir.pages[0].frame);
    let mut short = page.clone();
    short[..4].copy_from_slice(&0u32.to_le_bytes()); // drop the attributes
    let mut dir2 = dir.clone();
    dir2.pages[0].frame = s.append_frame(&short[..4 + 100]);
    let raw = hexz_format::entry_pages::encode_dir(&dir2);
    s.summary.extensions[0].frame = s.append_frame(&raw);
    let a = open_mem(&s.finish(), quiet_opts()).unwrap();
    assert!(a.entries().is_err());
    assert!(!verify(&a, &|_| {}).unwrap().is_ok());
    // Entry pages beside a file attributes frame: refused at open.
    let mut s = Surgery::new(&bytes);
    let frame = s.append_frame(b"x");
    s.summary.extensions.insert(
        0,
        hexz_format::ExtensionRef {
            kind: FILE_ATTRIBUTES,
            critical: false,
            frame,
        },
    );
    assert!(open_mem(&s.finish(), quiet_opts()).is_err());
}

/// Scale: `HEXZ_SCALE_ENTRIES` empty files (default 10^7) pack, open reading only the tail,
/// and a lookup by path reads the entry directory and one page. Ignored (minutes, GBs);
/// run with `cargo test --release -p hexz-core --test entry_pages -- --ignored --nocapture`.
#[test]
#[ignore = "scale run: minutes and gigabytes"]
fn millions_of_entries() {
    let n: usize = std::env::var("HEXZ_SCALE_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let t = std::time::Instant::now();
    let bytes = build(WriteOptions::default(), |w| {
        for i in 0..n {
            w.add_bytes(
                &format!("d{:04}/f{i:09}", i % 1000),
                b"",
                EntryMeta::default(),
            )?;
        }
        Ok(())
    })
    .unwrap();
    let packed = t.elapsed();
    let store = Counting::new(bytes.clone());
    let t = std::time::Instant::now();
    let a = hexz_core::Archive::open_store(store.clone(), quiet_opts()).unwrap();
    let opened = (store.read(), t.elapsed());
    let t = std::time::Instant::now();
    let path = format!("d0777/f{:09}", n / 2 / 1000 * 1000 + 777);
    let e = a.entry(&path).unwrap();
    let looked_up = (store.read() - opened.0, t.elapsed());
    assert!(e.is_some() || n < 1000, "{path}");
    let pages = a.entry_page_frames().unwrap();
    let largest = pages.iter().map(|f| f.stored_len as u64).max().unwrap_or(0);
    let dir = a.summary().extensions[0].frame.stored_len as u64;
    println!(
        "{n} entries: packed in {packed:.1?} to {} bytes; open read {} bytes in {:.1?}; \
         lookup read {} bytes (directory {dir} + page ≤ {largest}) in {:.1?}; {} pages",
        bytes.len(),
        opened.0,
        opened.1,
        looked_up.0,
        looked_up.1,
        pages.len()
    );
    assert!(opened.0 <= 128 + 64 * 1024);
    assert!(looked_up.0 <= dir + largest);
}
