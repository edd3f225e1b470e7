//! The entries table (`docs/FORMAT.md` §7.2).

use crate::bytes::{heap_slice, split_rows, Cursor, Put};
use crate::{limits, Error, Result};

/// Encoded length of one entry row.
pub const ENTRY_ROW_LEN: usize = 48;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A raw stream (`disk`, `memory`).
    Stream,
    /// A character device (v2; its number is in the file attributes, §7.6).
    CharDevice,
    /// A block device (v2).
    BlockDevice,
    /// A named pipe (v2).
    Fifo,
    /// A Unix domain socket (v2).
    Socket,
}

impl EntryKind {
    fn id(self) -> u8 {
        match self {
            EntryKind::File => 0,
            EntryKind::Dir => 1,
            EntryKind::Symlink => 2,
            EntryKind::Stream => 3,
            EntryKind::CharDevice => 4,
            EntryKind::BlockDevice => 5,
            EntryKind::Fifo => 6,
            EntryKind::Socket => 7,
        }
    }

    /// The kind of id `id` in format `version` (kinds 4 to 7 exist from v2).
    fn from_id(id: u8, version: u16) -> Result<EntryKind> {
        Ok(match (id, version) {
            (0, _) => EntryKind::File,
            (1, _) => EntryKind::Dir,
            (2, _) => EntryKind::Symlink,
            (3, _) => EntryKind::Stream,
            (4, 2..) => EntryKind::CharDevice,
            (5, 2..) => EntryKind::BlockDevice,
            (6, 2..) => EntryKind::Fifo,
            (7, 2..) => EntryKind::Socket,
            (v, _) => {
                return Err(Error::Invalid {
                    what: "entry kind",
                    value: v as u64,
                })
            }
        })
    }

    /// Lower-case name: `file`, `dir`, `symlink`, `stream`, `char-device`, `block-device`,
    /// `fifo`, `socket` (what `hexz ls --json` and the Python package say).
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Stream => "stream",
            EntryKind::CharDevice => "char-device",
            EntryKind::BlockDevice => "block-device",
            EntryKind::Fifo => "fifo",
            EntryKind::Socket => "socket",
        }
    }

    /// Whether the entry holds data (files and streams): the others have no data range.
    pub fn has_data(self) -> bool {
        matches!(self, EntryKind::File | EntryKind::Stream)
    }

    /// A device node, FIFO or socket: an entry with neither data nor a target.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo | EntryKind::Socket
        )
    }
}

/// One named entry of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative `/`-separated path.
    pub path: String,
    /// Kind.
    pub kind: EntryKind,
    /// Unix permission bits.
    pub mode: u32,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Logical offset of the data.
    pub data_offset: u64,
    /// Data length.
    pub size: u64,
    /// Symlink target.
    pub target: Option<String>,
}

/// Checks a path against the format's path rules.
pub fn check_path(path: &str) -> Result<()> {
    let bad = |why| {
        Err(Error::BadPath {
            path: path.to_string(),
            why,
        })
    };
    if path.is_empty() {
        return bad("empty");
    }
    if path.len() > limits::MAX_PATH_LEN as usize {
        return bad("longer than 4096 bytes");
    }
    if path.starts_with('/') {
        return bad("absolute");
    }
    if path.contains('\0') {
        return bad("contains NUL");
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return bad("empty, '.' or '..' component");
    }
    Ok(())
}

/// Encodes entries (which must be sorted by path, without duplicates) into raw table bytes.
pub fn encode_entries(entries: &[Entry]) -> Vec<u8> {
    let mut rows = Vec::with_capacity(entries.len() * ENTRY_ROW_LEN);
    let mut heap = Vec::new();
    for e in entries {
        let path_offset = heap.len() as u32;
        heap.extend_from_slice(e.path.as_bytes());
        let target_offset = heap.len() as u32;
        let target = e.target.as_deref().unwrap_or("");
        heap.extend_from_slice(target.as_bytes());
        rows.put_u8(e.kind.id());
        rows.put_zeros(3);
        rows.put_u32(e.mode & 0o7777);
        rows.put_i64(e.mtime_ns);
        rows.put_u64(e.data_offset);
        rows.put_u64(e.size);
        rows.put_u32(path_offset);
        rows.put_u32(e.path.len() as u32);
        rows.put_u32(if target.is_empty() { 0 } else { target_offset });
        rows.put_u32(target.len() as u32);
    }
    rows.extend_from_slice(&heap);
    rows
}

/// Parses `count` entries of a format-`version` archive from raw table bytes, checking order,
/// paths and that every data range lies within `logical_size`.
pub fn parse_entries(
    raw: &[u8],
    count: u64,
    logical_size: u64,
    version: u16,
) -> Result<Vec<Entry>> {
    let (rows, heap) = split_rows(raw, count, ENTRY_ROW_LEN, "entries table")?;
    let mut out: Vec<Entry> = Vec::with_capacity(count as usize);
    // Names are copied out of the heap: rows that shared heap bytes could make a small table
    // cost gigabytes, so together they may claim no more than the heap holds (§7.2).
    let mut claimed: u64 = 0;
    for row in rows.chunks_exact(ENTRY_ROW_LEN) {
        let mut c = Cursor::new(row, "entry");
        let kind = EntryKind::from_id(c.u8()?, version)?;
        c.reserved(3)?;
        let mode = c.u32()?;
        if mode & !0o7777 != 0 {
            return Err(Error::Invalid {
                what: "entry mode",
                value: mode as u64,
            });
        }
        let mtime_ns = c.i64()?;
        let data_offset = c.u64()?;
        let size = c.u64()?;
        let (po, pl, to, tl) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
        for (len, what) in [(pl, "path length"), (tl, "symlink target length")] {
            if len > limits::MAX_PATH_LEN {
                return Err(Error::Limit {
                    what,
                    value: len as u64,
                    limit: limits::MAX_PATH_LEN as u64,
                });
            }
        }
        claimed += u64::from(pl) + u64::from(tl);
        if claimed > heap.len() as u64 {
            return Err(Error::Inconsistent(format!(
                "the entries' paths and targets claim more than the {} bytes of the heap \
                 (rows may not share name bytes)",
                heap.len()
            )));
        }
        let path = utf8(heap_slice(heap, po, pl, "entry path")?, "entry path")?;
        check_path(&path)?;
        let target = match (kind, tl) {
            (EntryKind::Symlink, _) => Some(utf8(
                heap_slice(heap, to, tl, "symlink target")?,
                "symlink target",
            )?),
            (_, 0) if to == 0 => None,
            _ => {
                return Err(Error::Inconsistent(format!(
                    "{path}: target on a non-symlink"
                )))
            }
        };
        if !kind.has_data() && (data_offset != 0 || size != 0) {
            return Err(Error::Inconsistent(format!(
                "{path}: a directory, symlink, device, FIFO or socket with data"
            )));
        }
        if data_offset
            .checked_add(size)
            .is_none_or(|end| end > logical_size)
        {
            return Err(Error::OutOfBounds {
                what: "entry data",
                offset: data_offset,
                len: size,
                bound: logical_size,
            });
        }
        if let Some(prev) = out.last() {
            if prev.path.as_bytes() >= path.as_bytes() {
                return Err(Error::Inconsistent(format!(
                    "entries not sorted at {path:?}"
                )));
            }
        }
        out.push(Entry {
            path,
            kind,
            mode,
            mtime_ns,
            data_offset,
            size,
            target,
        });
    }
    Ok(out)
}

fn utf8(b: &[u8], what: &'static str) -> Result<String> {
    String::from_utf8(b.to_vec()).map_err(|_| Error::Invalid { what, value: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entries = vec![
            Entry {
                path: "a".into(),
                kind: EntryKind::Dir,
                mode: 0o755,
                mtime_ns: -5,
                data_offset: 0,
                size: 0,
                target: None,
            },
            Entry {
                path: "a/b.txt".into(),
                kind: EntryKind::File,
                mode: 0o644,
                mtime_ns: 1,
                data_offset: 3,
                size: 7,
                target: None,
            },
            Entry {
                path: "a/l".into(),
                kind: EntryKind::Symlink,
                mode: 0o777,
                mtime_ns: 2,
                data_offset: 0,
                size: 0,
                target: Some("b.txt".into()),
            },
        ];
        let raw = encode_entries(&entries);
        assert_eq!(parse_entries(&raw, 3, 10, 2).unwrap(), entries);
        assert!(matches!(
            parse_entries(&raw, 3, 9, 2),
            Err(Error::OutOfBounds { .. })
        ));
    }

    /// A file row naming heap bytes `[offset, offset + len)`.
    fn file_row(offset: u32, len: u32) -> Vec<u8> {
        let mut row = vec![0u8; ENTRY_ROW_LEN];
        row[32..36].copy_from_slice(&offset.to_le_bytes());
        row[36..40].copy_from_slice(&len.to_le_bytes());
        row
    }

    #[test]
    fn rows_may_not_share_heap_bytes() {
        // "aa" and "ab" are sorted and valid, but overlap in the heap "aab": 4 name bytes
        // from a 3-byte heap. Many such rows would make a small table cost gigabytes.
        let mut raw = [file_row(0, 2), file_row(1, 2)].concat();
        raw.extend_from_slice(b"aab");
        let err = parse_entries(&raw, 2, 0, 2).unwrap_err();
        assert!(err.to_string().contains("heap"), "{err}");
        // The same names stored once each are fine.
        let mut raw = [file_row(0, 2), file_row(2, 2)].concat();
        raw.extend_from_slice(b"aaab");
        assert_eq!(parse_entries(&raw, 2, 0, 2).unwrap().len(), 2);
    }

    #[test]
    fn path_rules() {
        for bad in ["", "/etc", "a//b", "a/../b", "./a", "a\0b"] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        check_path("a/b c/d.txt").unwrap();
    }
}
