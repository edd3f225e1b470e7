//! Opens arbitrary bytes as an archive and exercises every read API, checking the engine's
//! invariants. Shared by `tests/corruption/` (seeded mutations, run by CI) and the cargo-fuzz
//! target `fuzz/fuzz_targets/open_read.rs` (which includes this file by path), so both run the
//! same logic. Depends on `hexz_core` only, and never unwraps an engine result: an engine
//! error is an outcome, a panic is a bug.

use hexz_core::verify::verify;
use hexz_core::{Archive, Entry, MemStore, ReadOptions, Record};
use std::sync::Arc;

/// Largest logical stream read in full, and verified (verify hashes every logical byte, holes
/// included, so a tiny file claiming 2^62 zero bytes would take forever).
pub const FULL_READ_LIMIT: u64 = 4 << 20;

/// What one run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `Archive::open_store` succeeded.
    pub opened: bool,
    /// Some call returned an error, or verify reported a problem.
    pub detected: bool,
    /// The whole logical stream, when it was read without error.
    pub logical: Option<Vec<u8>>,
    /// The entries, when they loaded.
    pub entries: Option<Vec<Entry>>,
    /// The metadata, when it loaded.
    pub metadata: Option<Option<Vec<u8>>>,
    /// Every record, when all loaded.
    pub records: Option<Vec<Record>>,
    /// Verify ran and found nothing.
    pub verified: bool,
    /// The first error seen, for messages.
    pub first_error: Option<String>,
}

impl Outcome {
    fn note<T>(&mut self, r: hexz_core::Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.detected = true;
                if self.first_error.is_none() {
                    self.first_error = Some(e.to_string());
                }
                None
            }
        }
    }
}

struct Xs(u64);
impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Opens `data` and calls every read API; panics only when the engine breaks an invariant.
pub fn exercise(data: &[u8]) -> Outcome {
    exercise_with(data, None)
}

/// [`exercise`] with the key of an encrypted archive (a wrong or missing one is an outcome).
pub fn exercise_with(data: &[u8], key: Option<hexz_core::KeySource>) -> Outcome {
    let mut out = Outcome::default();
    let opts = ReadOptions {
        cache_bytes: 256 << 10,
        readahead_threads: 0,
        readahead_blocks: 0,
        verify_hashes: false,
        key,
        ..ReadOptions::default()
    };
    let Some(a) = out.note(Archive::open_store(
        Arc::new(MemStore::new(data.to_vec())),
        opts,
    )) else {
        return out;
    };
    out.opened = true;
    let len = a.len();
    assert!(len <= 1 << 62, "logical size {len} beyond the format limit");
    let mut x = Xs(hexz_format::crc32c(data) as u64 | 1);

    if let Some(entries) = out.note(a.entries()) {
        for w in entries.windows(2) {
            assert!(w[0].path < w[1].path, "entries not sorted");
        }
        for e in entries.iter().take(64) {
            assert!(
                e.data_offset
                    .checked_add(e.size)
                    .is_some_and(|end| end <= len),
                "entry {:?} past the end",
                e.path
            );
            match out.note(a.entry(&e.path)) {
                Some(Some(found)) => assert_eq!(&found, e, "lookup of {:?}", e.path),
                Some(None) => panic!("entry {:?} listed but not found", e.path),
                None => {}
            }
            let mut buf = vec![0u8; (e.size.min(1 << 16)) as usize];
            if let Some(n) = out.note(a.read_entry_at(e, 0, &mut buf)) {
                assert_eq!(n, buf.len(), "short entry read of {:?}", e.path);
            }
        }
        out.entries = Some(entries.to_vec());
    }

    if let Some(groups) = out.note(a.record_groups()) {
        let mut next = 0;
        for g in groups.iter() {
            assert_eq!(g.first_record, next, "record groups not contiguous");
            next = next
                .checked_add(g.record_count)
                .expect("record group counts overflow");
        }
        if !groups.is_empty() {
            assert_eq!(
                next,
                a.record_count(),
                "record groups do not cover the records"
            );
        }
    }
    let count = a.record_count();
    let mut probes: Vec<u64> = vec![0, count.saturating_sub(1), count, x.next() % (count + 1)];
    if count <= 10_000 {
        probes.extend(0..count);
    }
    let mut records = Vec::new();
    let mut all_records = true;
    for i in probes {
        let r = a.record(i);
        if i >= count {
            assert!(r.is_err(), "record {i} of {count} exists");
            continue;
        }
        match out.note(r) {
            Some(rec) => {
                assert!(
                    rec.offset
                        .checked_add(rec.length)
                        .is_some_and(|end| end <= len),
                    "record {i} past the end"
                );
                records.push(rec);
            }
            None => all_records = false,
        }
    }
    if all_records && count <= 10_000 {
        out.records = Some(records.split_off(records.len() - count as usize));
    }

    out.metadata = out.note(a.metadata());

    for _ in 0..8 {
        let off = if len == 0 {
            x.next() % 16
        } else {
            x.next() % (len + 16)
        };
        let want = (x.next() % (64 << 10)) as usize;
        let mut buf = vec![0u8; want];
        if let Some(n) = out.note(a.read_at(off, &mut buf)) {
            let expect = len.saturating_sub(off).min(want as u64) as usize;
            assert_eq!(n, expect, "read_at({off}, {want}) of a {len}-byte stream");
        }
    }

    // Several ranges in one call must equal the same ranges read one by one.
    a.prefetch(x.next() % (len + 16), x.next() % (1 << 20));
    let ranges: Vec<(u64, usize)> = (0..4)
        .map(|_| {
            let off = x.next() % (len + 1);
            (off, (x.next() % (len - off + 1)).min(32 << 10) as usize)
        })
        .collect();
    let mut batch = vec![0u8; ranges.iter().map(|r| r.1).sum()];
    if out.note(a.read_batch(&ranges, &mut batch)).is_some() {
        let mut at = 0;
        for &(off, n) in &ranges {
            if let Some(v) = out.note(a.read_vec(off, n)) {
                assert!(
                    v[..] == batch[at..at + n],
                    "read_batch differs at {off}+{n}"
                );
            }
            at += n;
        }
    }

    if len <= FULL_READ_LIMIT {
        if let Some(v) = out.note(a.read_vec(0, len as usize)) {
            assert_eq!(v.len() as u64, len, "full read length");
            out.logical = Some(v);
        }
        if let Some(report) = out.note(verify(&a, &|_| {})) {
            if report.is_ok() {
                out.verified = true;
            } else {
                out.detected = true;
                if out.first_error.is_none() {
                    out.first_error = report.problems.first().cloned();
                }
            }
        }
    }
    out
}
