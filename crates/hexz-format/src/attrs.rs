//! File attributes (`docs/FORMAT.md` §7.6), extension type 1 of a v2 archive: what a file
//! system snapshot keeps beyond the entries table — owners, access and change times, device
//! numbers, hard links and extended attributes (ACLs included) — one row per entry.

use crate::bytes::{heap_slice, split_rows, Cursor, Put};
use crate::{Error, Result};

/// Encoded length of one row.
pub const ATTRS_ROW_LEN: usize = 64;
/// Longest extended attribute name (Linux: `XATTR_NAME_MAX`).
pub const MAX_XATTR_NAME: usize = 255;
/// Largest extended attribute value (Linux: `XATTR_SIZE_MAX`).
pub const MAX_XATTR_VALUE: usize = 65536;

const OWNER: u32 = 1;
const ATIME: u32 = 2;
const CTIME: u32 = 4;
const NAMES: u32 = 8;

/// The attributes of one entry. `Default` is "nothing recorded".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileAttrs {
    /// Owner and group ids.
    pub owner: Option<(u32, u32)>,
    /// Owner and group names, as the writer's system resolved the ids (empty when unknown).
    pub names: Option<(String, String)>,
    /// Access time, ns since the epoch.
    pub atime_ns: Option<i64>,
    /// Status change time, ns since the epoch (kept for reference: no system call restores it).
    pub ctime_ns: Option<i64>,
    /// Device number (major, minor) of a device entry.
    pub rdev: (u32, u32),
    /// Hard-link group: entries sharing a non-zero value are one file (and share one data
    /// range); 0 for none.
    pub link_group: u64,
    /// Extended attributes (name, value), in the order the writer listed them.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl FileAttrs {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        *self == FileAttrs::default()
    }
}

/// Encodes one row per entry, then the heap of names and extended attributes.
pub fn encode_attrs(rows: &[FileAttrs]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * ATTRS_ROW_LEN);
    let mut heap = Vec::new();
    for a in rows {
        let start = heap.len() as u32;
        if let Some((user, group)) = &a.names {
            for name in [user, group] {
                let name = &name.as_bytes()[..name.len().min(255)];
                heap.put_u8(name.len() as u8);
                heap.extend_from_slice(name);
            }
        }
        for (name, value) in &a.xattrs {
            heap.put_u8(name.len() as u8);
            heap.put_u32(value.len() as u32);
            heap.extend_from_slice(name);
            heap.extend_from_slice(value);
        }
        let flags = a.owner.map_or(0, |_| OWNER)
            | a.atime_ns.map_or(0, |_| ATIME)
            | a.ctime_ns.map_or(0, |_| CTIME)
            | a.names.as_ref().map_or(0, |_| NAMES);
        let (uid, gid) = a.owner.unwrap_or((0, 0));
        out.put_u32(flags);
        out.put_u32(uid);
        out.put_u32(gid);
        out.put_zeros(4);
        out.put_i64(a.atime_ns.unwrap_or(0));
        out.put_i64(a.ctime_ns.unwrap_or(0));
        out.put_u32(a.rdev.0);
        out.put_u32(a.rdev.1);
        out.put_u64(a.link_group);
        out.put_u32(start);
        out.put_u32(heap.len() as u32 - start);
        out.put_zeros(8);
    }
    out.extend_from_slice(&heap);
    out
}

/// Parses the attributes of `count` entries. Rows may not share heap bytes (so memory spent
/// on names and values is bounded by the frame's size, §14); every name and value is checked
/// against its limit.
pub fn parse_attrs(raw: &[u8], count: u64) -> Result<Vec<FileAttrs>> {
    let (rows, heap) = split_rows(raw, count, ATTRS_ROW_LEN, "file attributes")?;
    let mut claimed = 0u64;
    let mut out = Vec::with_capacity(count as usize);
    for row in rows.chunks_exact(ATTRS_ROW_LEN) {
        let mut c = Cursor::new(row, "file attributes");
        let flags = c.u32()?;
        if flags & !(OWNER | ATIME | CTIME | NAMES) != 0 {
            return Err(Error::Reserved {
                what: "file attribute flags",
            });
        }
        let (uid, gid) = (c.u32()?, c.u32()?);
        c.reserved(4)?;
        let (atime, ctime) = (c.i64()?, c.i64()?);
        let rdev = (c.u32()?, c.u32()?);
        let link_group = c.u64()?;
        let (offset, len) = (c.u32()?, c.u32()?);
        c.reserved(8)?;
        claimed += u64::from(len);
        if claimed > heap.len() as u64 {
            return Err(Error::Inconsistent(format!(
                "the file attributes claim more than the {} bytes of their heap (rows may not \
                 share heap bytes)",
                heap.len()
            )));
        }
        let mut h = Cursor::new(
            heap_slice(heap, offset, len, "file attributes heap")?,
            "xattr",
        );
        let names = match flags & NAMES {
            0 => None,
            _ => {
                let mut name = || -> Result<String> {
                    let n = h.u8()? as usize;
                    String::from_utf8(h.take(n)?.to_vec()).map_err(|_| Error::Invalid {
                        what: "owner name utf-8",
                        value: 0,
                    })
                };
                Some((name()?, name()?))
            }
        };
        let mut xattrs = Vec::new();
        while h.remaining() > 0 {
            let name_len = h.u8()? as usize;
            let value_len = h.u32()? as usize;
            if name_len == 0 {
                return Err(Error::Invalid {
                    what: "xattr name length",
                    value: 0,
                });
            }
            if value_len > MAX_XATTR_VALUE {
                return Err(Error::Limit {
                    what: "xattr value length",
                    value: value_len as u64,
                    limit: MAX_XATTR_VALUE as u64,
                });
            }
            let name = h.take(name_len)?;
            if name.contains(&0) {
                return Err(Error::Invalid {
                    what: "xattr name",
                    value: 0,
                });
            }
            xattrs.push((name.to_vec(), h.take(value_len)?.to_vec()));
        }
        out.push(FileAttrs {
            owner: (flags & OWNER != 0).then_some((uid, gid)),
            names,
            atime_ns: (flags & ATIME != 0).then_some(atime),
            ctime_ns: (flags & CTIME != 0).then_some(ctime),
            rdev,
            link_group,
            xattrs,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<FileAttrs> {
        vec![
            FileAttrs::default(),
            FileAttrs {
                owner: Some((1000, 100)),
                names: Some(("alice".into(), "users".into())),
                atime_ns: Some(-5),
                ctime_ns: Some(1_700_000_000_000_000_000),
                rdev: (8, 1),
                link_group: 3,
                xattrs: vec![
                    (b"user.note".to_vec(), b"hello".to_vec()),
                    (b"system.posix_acl_access".to_vec(), vec![2, 0, 0, 0]),
                    (b"user.empty".to_vec(), Vec::new()),
                ],
            },
            FileAttrs {
                owner: Some((0, 0)),
                ..FileAttrs::default()
            },
        ]
    }

    #[test]
    fn round_trip() {
        let rows = sample();
        let raw = encode_attrs(&rows);
        assert_eq!(parse_attrs(&raw, 3).unwrap(), rows);
        assert!(parse_attrs(&raw, 4).is_err());
        assert!(parse_attrs(&raw[..raw.len() - 1], 3).is_err());
    }

    #[test]
    fn rows_may_not_share_heap_bytes_and_flags_are_known() {
        let rows = sample();
        let mut raw = encode_attrs(&rows);
        // Row 2 claims row 1's heap bytes too.
        let len1 = u32::from_le_bytes(raw[64 + 52..64 + 56].try_into().unwrap());
        raw[128 + 48..128 + 52].copy_from_slice(&0u32.to_le_bytes());
        raw[128 + 52..128 + 56].copy_from_slice(&len1.to_le_bytes());
        assert!(matches!(parse_attrs(&raw, 3), Err(Error::Inconsistent(_))));
        let mut raw = encode_attrs(&rows);
        raw[0] = 0x10;
        assert!(matches!(parse_attrs(&raw, 3), Err(Error::Reserved { .. })));
    }
}
