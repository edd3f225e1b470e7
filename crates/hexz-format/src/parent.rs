//! The parents table of thin archives (`docs/FORMAT.md` §8).

use crate::bytes::{Cursor, Put};
use crate::{limits, Error, Result};

/// A parent archive that blocks flagged `PARENT` read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// The parent's archive id.
    pub archive_id: [u8; 16],
    /// The parent's root hash.
    pub root_hash: [u8; 32],
    /// Where to find the parent (path or URL), a hint.
    pub path: String,
}

/// Encodes the parents table.
pub fn encode_parents(parents: &[Parent]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parents {
        v.extend_from_slice(&p.archive_id);
        v.extend_from_slice(&p.root_hash);
        v.put_u16(p.path.len() as u16);
        v.extend_from_slice(p.path.as_bytes());
    }
    v
}

/// Parses `count` parents; the table must hold nothing else.
pub fn parse_parents(raw: &[u8], count: u32) -> Result<Vec<Parent>> {
    let mut c = Cursor::new(raw, "parents table");
    let mut out = Vec::new();
    for _ in 0..count {
        let archive_id = c.array::<16>()?;
        let root_hash = c.array::<32>()?;
        let len = c.u16()?;
        if len as u32 > limits::MAX_PATH_LEN {
            return Err(Error::Limit {
                what: "parent path length",
                value: len as u64,
                limit: limits::MAX_PATH_LEN as u64,
            });
        }
        let path =
            String::from_utf8(c.take(len as usize)?.to_vec()).map_err(|_| Error::Invalid {
                what: "parent path utf-8",
                value: 0,
            })?;
        out.push(Parent {
            archive_id,
            root_hash,
            path,
        });
    }
    if c.take(1).is_ok() {
        return Err(Error::Inconsistent(
            "trailing bytes after the parents table".into(),
        ));
    }
    Ok(out)
}
