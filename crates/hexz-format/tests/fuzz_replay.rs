//! The `format_parse` and `tables` fuzz targets on stable Rust: their kept corpora and
//! time-bounded mutations (see `hexz_testkit::replay`).

mod common {
    pub mod fuzz_logic;
}

use common::fuzz_logic;
use hexz_testkit::replay::{self, replay};

/// The golden fixtures, whole and as their tails: real headers, footers and summaries.
fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for bytes in replay::fixtures() {
        out.push(bytes[bytes.len().saturating_sub(4096)..].to_vec());
        out.push(bytes);
    }
    out
}

/// Real entries tables (`tables` reads a row count, then the rows and the heap).
fn table_seeds() -> Vec<Vec<u8>> {
    use hexz_format::entry::encode_entries;
    use hexz_format::{Entry, EntryKind};
    let entry = |path: &str, kind, target: Option<&str>| Entry {
        path: path.into(),
        kind,
        mode: 0o644,
        mtime_ns: 1,
        data_offset: 0,
        size: 0,
        target: target.map(Into::into),
    };
    let sets = [
        vec![entry("a", EntryKind::File, None)],
        vec![
            entry("a", EntryKind::Dir, None),
            entry("a/b.txt", EntryKind::File, None),
            entry("a/l", EntryKind::Symlink, Some("b.txt")),
            entry("disk", EntryKind::Stream, None),
        ],
    ];
    sets.iter()
        .map(|s| [vec![s.len() as u8], encode_entries(s)].concat())
        .collect()
}

#[test]
fn format_parse() {
    let report = replay("format_parse", &seeds(), fuzz_logic::parse_all);
    assert!(report.mutations > 0, "{report:?}");
}

#[test]
fn tables() {
    let report = replay("tables", &table_seeds(), fuzz_logic::tables);
    assert!(report.mutations > 0, "{report:?}");
}
