//! What the `format_parse` and `tables` fuzz targets run on each input, shared by path with
//! `fuzz/fuzz_targets/` (libFuzzer, nightly) and `tests/fuzz_replay.rs` (stable: the kept
//! corpus and time-bounded mutations in every `cargo test`). Each parser must return a value
//! or an error: a panic is a bug.

use hexz_format::entry::{parse_entries, ENTRY_ROW_LEN};
use hexz_format::parent::parse_parents;
use hexz_format::record::{parse_groups, parse_record_page};
use hexz_format::{
    BlockEntry, Footer, Header, PageDirectory, PageSet, RequiredFeatures, Signature, Summary,
};

/// Every parser on arbitrary bytes; the first 16 bytes seed the parsers' parameters.
pub fn parse_all(data: &[u8]) {
    let (params, raw) = data.split_at(data.len().min(16));
    let mut p = [0u8; 16];
    p[..params.len()].copy_from_slice(params);
    let a = u64::from_le_bytes(p[..8].try_into().unwrap_or([0; 8]));
    let b = u64::from_le_bytes(p[8..].try_into().unwrap_or([0; 8]));
    let encrypted = a & 1 == 1;
    // Counts small enough to reach the row parsers, or arbitrary.
    let count = if a & 2 == 0 {
        (b % 256) as u32
    } else {
        b as u32
    };

    let _ = Header::parse(raw, RequiredFeatures::KNOWN);
    let _ = Header::parse(raw, u64::MAX);
    let _ = Footer::parse(raw, b);
    let _ = Footer::parse(raw, raw.len() as u64);
    let _ = Summary::parse(raw, b, encrypted, 1);
    let _ = Summary::parse(raw, b, encrypted, 2);
    let _ = BlockEntry::parse_page(raw, a >> 2, b, encrypted);
    let _ = parse_entries(raw, count as u64, b, 1);
    let _ = parse_entries(raw, count as u64, b, 2);
    let _ = parse_groups(raw, count, a >> 2);
    let _ = parse_record_page(raw, b);
    let _ = parse_parents(raw, count % 300);
    let _ = hexz_format::attrs::parse_attrs(raw, count as u64 % 64);
    let _ = hexz_format::entry_pages::parse_dir(raw, count as u64, b, encrypted);
    let _ = hexz_format::entry_pages::parse_page(raw, count as u64 % 64, "a", b, 2);
    let _ = Signature::parse(raw, 1);
    let _ = Signature::parse(raw, 2);
    // A page directory (§7.8) of a summary whose counts come from the parameters; each of
    // its directory frames is then read from the same bytes.
    let per_page = (a >> 8) as u32 % 8 + 1;
    let records = (a >> 16) % 5000;
    let summary = Summary {
        logical_size: b.max(1),
        block_count: count as u64 * per_page as u64,
        entries_per_page: per_page,
        index_page_count: count,
        record_count: records,
        records_per_page: if records > 0 { 16 } else { 0 },
        record_page_count: records.div_ceil(16) as u32,
        ..Summary::default()
    };
    if let Ok(dir) = PageDirectory::parse(raw, &summary, b, encrypted) {
        for set in [PageSet::Index, PageSet::Records] {
            for d in 0..dir.frames(set).len().min(4) + 1 {
                let _ = dir.parse_frame(raw, set, d, &summary, b, encrypted);
            }
        }
    }
}

/// The entries and record-group tables from inputs shaped like them: rows whose fields are
/// folded into plausible ranges (kinds, modes, heap offsets and lengths that mostly land in
/// the heap), then the heap, so the checks behind the first row's (sorting, path rules,
/// name bytes shared between rows, group coverage) are reached, not just the length checks.
pub fn tables(data: &[u8]) {
    let Some((&rows_byte, rest)) = data.split_first() else {
        return;
    };
    let rows = usize::from(rows_byte % 32);
    let row_bytes = rows * ENTRY_ROW_LEN;
    if rest.len() < row_bytes {
        return;
    }
    let (raw_rows, heap) = rest.split_at(row_bytes);
    let heap_len = heap.len().max(1) as u32;
    let fold = |x: u32, m: u32| x % m.max(1);
    let u32_at = |r: &[u8], i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);

    let mut entries = Vec::with_capacity(rest.len());
    for r in raw_rows.chunks_exact(ENTRY_ROW_LEN) {
        let mut row = r.to_vec();
        row[0] %= 5; // one kind past the last, now and then
        row[1..4].fill(0);
        let mode = u32_at(r, 4) & 0o17777;
        row[4..8].copy_from_slice(&mode.to_le_bytes());
        for (at, m) in [(32, heap_len), (36, 64), (40, heap_len), (44, 16)] {
            row[at..at + 4].copy_from_slice(&fold(u32_at(r, at), m).to_le_bytes());
        }
        entries.extend_from_slice(&row);
    }
    entries.extend_from_slice(heap);
    let _ = parse_entries(&entries, rows as u64, u64::from(rows_byte) << 20, 2);

    // The same bytes as record groups (48-byte rows too): records covered in order.
    let mut groups = Vec::with_capacity(rest.len());
    let mut first = 0u64;
    for r in raw_rows.chunks_exact(ENTRY_ROW_LEN) {
        let mut row = r.to_vec();
        let count = u64::from(r[8] % 8);
        row[0..8].copy_from_slice(&first.to_le_bytes());
        row[8..16].copy_from_slice(&count.to_le_bytes());
        first += count;
        for (at, m) in [(16, heap_len), (20, 64), (24, heap_len)] {
            row[at..at + 4].copy_from_slice(&fold(u32_at(r, at), m).to_le_bytes());
        }
        row[28] %= 18;
        row[29] %= 17;
        row[30..48].fill(0);
        groups.extend_from_slice(&row);
    }
    groups.extend_from_slice(heap);
    let _ = parse_groups(&groups, rows as u32, first);
    let _ = parse_record_page(heap, u64::from(rows_byte) << 30);
}
