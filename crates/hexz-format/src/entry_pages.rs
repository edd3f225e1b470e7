//! Entry pages (`docs/FORMAT.md` §7.7), extension type 2 of a v2 archive: the entries table
//! cut into pages of `rows_per_page` rows, each with the file attributes of its rows, found
//! through a directory that holds every page's first path. A tree of any size then needs no
//! single large frame, and a lookup by path reads the directory and one page.

use crate::attrs::{encode_attrs, parse_attrs, FileAttrs};
use crate::bytes::{heap_slice, Cursor, Put};
use crate::entry::{encode_entries, parse_entries, Entry};
use crate::frame::{FrameKind, FrameRef, FRAME_REF_LEN};
use crate::{limits, Error, Result};

/// Encoded length of one directory row.
pub const DIR_ROW_LEN: usize = FRAME_REF_LEN + 16;
/// Most rows a page may hold.
pub const MAX_ROWS_PER_PAGE: u32 = 1 << 20;

/// One page of the directory: where it is, its first row, and its first path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPageRef {
    /// The page's frame (kind 8).
    pub frame: FrameRef,
    /// The number of its first row in the whole table.
    pub first_row: u64,
    /// The path of its first row (pages are in path order, so a lookup searches these).
    pub first_path: String,
}

/// The directory of entry pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPageDir {
    /// Rows of every page but the last.
    pub rows_per_page: u32,
    /// The pages, in path order.
    pub pages: Vec<EntryPageRef>,
}

impl EntryPageDir {
    /// The page that holds `path`, if any can: the last page whose first path is not after it.
    pub fn page_of(&self, path: &str) -> Option<usize> {
        self.pages
            .partition_point(|p| p.first_path.as_bytes() <= path.as_bytes())
            .checked_sub(1)
    }

    /// Rows of page `i`, of a table of `entry_count` rows.
    pub fn rows_of(&self, i: usize, entry_count: u64) -> u64 {
        let first = self.pages[i].first_row;
        (entry_count - first).min(self.rows_per_page as u64)
    }
}

/// Encodes the directory: `rows_per_page`, the page count, the rows, then the paths' heap.
pub fn encode_dir(dir: &EntryPageDir) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + dir.pages.len() * DIR_ROW_LEN);
    let mut heap = Vec::new();
    v.put_u32(dir.rows_per_page);
    v.put_u32(dir.pages.len() as u32);
    for p in &dir.pages {
        p.frame.put(&mut v);
        v.put_u64(p.first_row);
        v.put_u32(heap.len() as u32);
        v.put_u32(p.first_path.len() as u32);
        heap.extend_from_slice(p.first_path.as_bytes());
    }
    v.extend_from_slice(&heap);
    v
}

/// Parses the directory of a table of `entry_count` rows: full pages but the last, rows
/// numbered in order, first paths valid and strictly increasing, frames before `data_end`.
pub fn parse_dir(
    raw: &[u8],
    entry_count: u64,
    data_end: u64,
    encrypted: bool,
) -> Result<EntryPageDir> {
    let mut c = Cursor::new(raw, "entry page directory");
    let rows_per_page = c.u32()?;
    let count = c.u32()?;
    if !(1..=MAX_ROWS_PER_PAGE).contains(&rows_per_page) {
        return Err(Error::Limit {
            what: "entry rows per page",
            value: rows_per_page as u64,
            limit: MAX_ROWS_PER_PAGE as u64,
        });
    }
    if count as u64 != entry_count.div_ceil(rows_per_page as u64) || entry_count == 0 {
        return Err(Error::Inconsistent(format!(
            "{count} entry pages for {entry_count} entries of {rows_per_page} per page"
        )));
    }
    let rows_len = count as usize * DIR_ROW_LEN;
    let heap = raw.get(8 + rows_len..).ok_or(Error::Truncated {
        what: "entry page directory",
        need: (8 + rows_len) as u64,
        have: raw.len() as u64,
    })?;
    let mut claimed = 0u64;
    // Bounded by the bytes read, not by what a field claims (§14).
    let mut pages: Vec<EntryPageRef> = Vec::with_capacity(count.min(raw.len() as u32) as usize);
    for i in 0..count as u64 {
        let frame = FrameRef::read(&mut c)?;
        frame.validate(FrameKind::Extension, data_end, encrypted)?;
        let first_row = c.u64()?;
        let (offset, len) = (c.u32()?, c.u32()?);
        if first_row != i * rows_per_page as u64 {
            return Err(Error::Inconsistent(format!(
                "entry page {i} starts at row {first_row}"
            )));
        }
        claimed += u64::from(len);
        if claimed > heap.len() as u64 {
            return Err(Error::Inconsistent(
                "the entry pages' first paths claim more than their heap".into(),
            ));
        }
        if len > limits::MAX_PATH_LEN {
            return Err(Error::Limit {
                what: "path length",
                value: len as u64,
                limit: limits::MAX_PATH_LEN as u64,
            });
        }
        let first_path = String::from_utf8(heap_slice(heap, offset, len, "first path")?.to_vec())
            .map_err(|_| Error::Invalid {
            what: "entry path utf-8",
            value: 0,
        })?;
        crate::entry::check_path(&first_path)?;
        if pages
            .last()
            .is_some_and(|p| p.first_path.as_bytes() >= first_path.as_bytes())
        {
            return Err(Error::Inconsistent(format!(
                "entry page {i} is out of path order"
            )));
        }
        pages.push(EntryPageRef {
            frame,
            first_row,
            first_path,
        });
    }
    Ok(EntryPageDir {
        rows_per_page,
        pages,
    })
}

/// Encodes one page: `attrs_offset u32` (0 when the page has no attributes), its rows as an
/// entries table (§7.2), then their attributes (§7.6).
pub fn encode_page(entries: &[Entry], attrs: Option<&[FileAttrs]>) -> Vec<u8> {
    let table = encode_entries(entries);
    let mut v = Vec::with_capacity(4 + table.len());
    let attrs = attrs.map(encode_attrs);
    v.put_u32(match attrs {
        Some(_) => (4 + table.len()) as u32,
        None => 0,
    });
    v.extend_from_slice(&table);
    if let Some(a) = attrs {
        v.extend_from_slice(&a);
    }
    v
}

/// Parses a page of `rows` rows whose first path is `first_path`: its entries and their
/// attributes (empty when the page has none).
pub fn parse_page(
    raw: &[u8],
    rows: u64,
    first_path: &str,
    logical_size: u64,
    version: u16,
) -> Result<(Vec<Entry>, Vec<FileAttrs>)> {
    let mut c = Cursor::new(raw, "entry page");
    let attrs_at = c.u32()? as usize;
    let table_end = match attrs_at {
        0 => raw.len(),
        at if (4..=raw.len()).contains(&at) => at,
        at => {
            return Err(Error::OutOfBounds {
                what: "entry page attributes",
                offset: at as u64,
                len: 0,
                bound: raw.len() as u64,
            })
        }
    };
    let entries = parse_entries(&raw[4..table_end], rows, logical_size, version)?;
    if entries.first().map(|e| e.path.as_str()) != Some(first_path) {
        return Err(Error::Inconsistent(format!(
            "an entry page does not start with {first_path:?}, as the directory says"
        )));
    }
    let attrs = match attrs_at {
        0 => Vec::new(),
        at => parse_attrs(&raw[at..], rows)?,
    };
    Ok((entries, attrs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryKind;

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: EntryKind::Dir,
            mode: 0o755,
            mtime_ns: 0,
            data_offset: 0,
            size: 0,
            target: None,
        }
    }

    #[test]
    fn pages_and_directory_round_trip() {
        let page = [entry("a"), entry("b")];
        let attrs = [
            FileAttrs::default(),
            FileAttrs {
                owner: Some((1, 2)),
                ..FileAttrs::default()
            },
        ];
        for a in [None, Some(&attrs[..])] {
            let raw = encode_page(&page, a);
            let (e, got) = parse_page(&raw, 2, "a", 0, 2).unwrap();
            assert_eq!(e, page);
            assert_eq!(got, a.map(<[_]>::to_vec).unwrap_or_default());
            assert!(
                parse_page(&raw, 2, "b", 0, 2).is_err(),
                "first path checked"
            );
        }
        let frame = |o: u64| FrameRef {
            offset: o,
            stored_len: 10,
            raw_len: 10,
            codec: 0,
            crc: 0,
            hash: [0; 32],
        };
        let dir = EntryPageDir {
            rows_per_page: 2,
            pages: vec![
                EntryPageRef {
                    frame: frame(200),
                    first_row: 0,
                    first_path: "a".into(),
                },
                EntryPageRef {
                    frame: frame(300),
                    first_row: 2,
                    first_path: "c".into(),
                },
            ],
        };
        let raw = encode_dir(&dir);
        assert_eq!(parse_dir(&raw, 3, 1000, false).unwrap(), dir);
        assert!(parse_dir(&raw, 5, 1000, false).is_err(), "page count");
        assert_eq!(dir.page_of("b"), Some(0));
        assert_eq!(dir.page_of("c/x"), Some(1));
        assert_eq!(dir.page_of("0"), None);
        assert_eq!(dir.rows_of(1, 3), 1);
        // A directory claiming 4 billion pages in 8 bytes: refused, nothing allocated for them.
        let mut huge = 1u32.to_le_bytes().to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            parse_dir(&huge, u32::MAX as u64, 1000, false),
            Err(Error::Truncated { .. })
        ));
        let mut unordered = dir.clone();
        unordered.pages[1].first_path = "a".into();
        assert!(parse_dir(&encode_dir(&unordered), 3, 1000, false).is_err());
    }
}
