//! The fixtures (a rich archive and a small one) and helpers shared by the corruption tests:
//! expected errors, the layout of stored blocks and frames, byte flips.

use crate::common::{build, format_source, frame_raw, open_mem, quiet_opts, Surgery};
use hexz_core::{Archive, Compression, DType, EntryMeta, Error, WriteOptions};
use hexz_format::{BlockEntry, Codec, Error as F, FrameRef};
use hexz_testkit::Rng;
use std::sync::OnceLock;

/// An archive and the logical stream it holds.
pub struct Fixture {
    pub bytes: Vec<u8>,
    pub logical: Vec<u8>,
}

pub const M: EntryMeta = EntryMeta {
    mode: 0o644,
    mtime_ns: 1_700_000_000_123_456_789,
};

/// Two index pages (4096 entries each), two record pages, entries of every kind, records,
/// metadata; blocks stored as lz4, raw, holes and dedup references.
pub fn rich() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let readme: Vec<u8> = b"hexz corruption fixture: lorem ipsum dolor sit amet\n"
            .iter()
            .cycle()
            .take(10_000)
            .copied()
            .collect();
        let noise = Rng::new(1).bytes(12_000);
        let pattern: Vec<u8> = (0..4096u32).map(|i| (i % 61) as u8 + b' ').collect();
        let mut disk = vec![0u8; 4200 * 4096];
        let mut rng = Rng::new(2);
        for (i, b) in disk.chunks_mut(4096).enumerate() {
            if i % 97 == 0 {
                b.copy_from_slice(&pattern);
            } else if i % 211 == 5 {
                rng.fill(b);
            }
        }
        let x: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        let feat: Vec<u8> = (0..120u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let bytes = build(
            WriteOptions {
                block_size: 4096,
                compression: Compression::Lz4,
                threads: 2,
                ..Default::default()
            },
            |w| {
                w.add_dir_entry("docs", M)?;
                w.add_bytes("docs/readme.txt", &readme, M)?;
                w.add_symlink("latest", "docs/readme.txt", M)?;
                w.add_bytes("bin/noise", &noise, M)?;
                w.add_stream("disk", &disk[..], M)?;
                w.add_array("x", DType::U8, &[5000, 1], &x)?;
                w.add_array("feat", DType::F32, &[10, 3, 4], &feat)?;
                w.set_metadata(br#"{"name":"rich","n":3}"#)
            },
        )
        .unwrap();
        let logical = [readme, noise, disk, x, feat].concat();
        let f = Fixture { bytes, logical };
        let a = open(&f.bytes).unwrap();
        assert_eq!(
            a.summary().index_pages.len(),
            2,
            "fixture needs two index pages"
        );
        assert_eq!(
            a.summary().record_pages.len(),
            2,
            "fixture needs two record pages"
        );
        assert!(a.read_vec(0, f.logical.len()).unwrap() == f.logical);
        f
    })
}

/// A few KB: every byte of it is flipped in turn.
pub fn small() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let text: Vec<u8> = b"small archive, every byte flipped. "
            .iter()
            .cycle()
            .take(9000)
            .copied()
            .collect();
        let noise = Rng::new(3).bytes(1500);
        let zeros = vec![0u8; 4096];
        let arr: Vec<u8> = (0..24u8).collect();
        let bytes = build(
            WriteOptions {
                block_size: 4096,
                compression: Compression::Zstd(3),
                threads: 1,
                ..Default::default()
            },
            |w| {
                w.add_dir_entry("d", M)?;
                w.add_bytes("d/text", &text, M)?;
                w.add_bytes("noise", &noise, M)?;
                w.add_bytes("zeros", &zeros, M)?;
                w.add_symlink("d/link", "text", M)?;
                w.add_array("a", DType::U16, &[6, 2], &arr)?;
                w.set_metadata(br#"{"k":"v"}"#)
            },
        )
        .unwrap();
        let logical = [text, noise, zeros, arr].concat();
        Fixture { bytes, logical }
    })
}

pub fn open(bytes: &[u8]) -> hexz_core::Result<Archive> {
    open_mem(bytes, quiet_opts())
}

/// The format error an engine result must hold.
pub fn format_err<T>(r: hexz_core::Result<T>, ctx: &str) -> F {
    match r {
        Err(e) => match format_source(&e) {
            Some(f) => f.clone(),
            None => panic!("{ctx}: expected Error::Format, got {e:?}"),
        },
        Ok(_) => panic!("{ctx}: expected Error::Format, got Ok"),
    }
}

pub fn integrity_err<T>(r: hexz_core::Result<T>, ctx: &str) -> (String, String) {
    match r {
        Err(Error::Integrity { place, detail }) => (place.to_string(), detail),
        Err(e) => panic!("{ctx}: expected Error::Integrity, got {e:?}"),
        Ok(_) => panic!("{ctx}: expected Error::Integrity, got Ok"),
    }
}

/// Every stored block (deduplicated by stored offset) and every frame of an archive.
pub struct Layout {
    pub blocks: Vec<BlockEntry>,
    pub frames: Vec<(String, FrameRef)>,
    pub summary_offset: u64,
    pub summary_len: u64,
}

pub fn layout(bytes: &[u8]) -> Layout {
    let s = Surgery::new(bytes);
    let mut blocks = Vec::new();
    let mut frames = Vec::new();
    for (i, p) in s.summary.index_pages.iter().enumerate() {
        let raw = frame_raw(bytes, &p.frame);
        blocks
            .extend(BlockEntry::parse_page(&raw, p.first, s.footer.summary_offset, false).unwrap());
        frames.push((format!("index page {i}"), p.frame));
    }
    for (i, p) in s.summary.record_pages.iter().enumerate() {
        frames.push((format!("record page {i}"), p.frame));
    }
    for (name, f) in [
        ("entries table", s.summary.entries),
        ("metadata", s.summary.metadata),
        ("record groups table", s.summary.record_groups),
    ] {
        if !f.is_absent() {
            frames.push((name.to_string(), f));
        }
    }
    Layout {
        blocks,
        frames,
        summary_offset: s.footer.summary_offset,
        summary_len: s.footer.summary_stored_len as u64,
    }
}

/// Distinct stored blocks (first logical block using each stored range).
pub fn stored_blocks(l: &Layout) -> Vec<BlockEntry> {
    let mut seen = std::collections::HashSet::new();
    l.blocks
        .iter()
        .filter(|b| b.codec != Codec::Zero && seen.insert(b.stored_offset))
        .copied()
        .collect()
}

pub fn flip(bytes: &[u8], at: u64, mask: u8) -> Vec<u8> {
    let mut m = bytes.to_vec();
    m[at as usize] ^= mask;
    m
}

/// Writes `v` into `raw` at `at`.
pub fn put(raw: &mut [u8], at: usize, v: &[u8]) {
    raw[at..at + v.len()].copy_from_slice(v);
}

/// `bytes` with field `at` of block entry `row` of index page 0 set to `v` (checksums and
/// hashes made valid again).
pub fn index_edit(bytes: &[u8], row: usize, at: usize, v: &[u8]) -> Vec<u8> {
    let mut s = Surgery::new(bytes);
    let mut raw = s.raw(&s.summary.index_pages[0].frame);
    put(&mut raw, row * 64 + at, v);
    s.summary.index_pages[0].frame = s.append_frame(&raw);
    s.finish()
}
