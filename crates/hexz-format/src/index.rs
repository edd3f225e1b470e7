//! Block entries of the paged index (`docs/FORMAT.md` §7.1).

use crate::bytes::{Cursor, Put};
use crate::{limits, Codec, Error, Result};

/// Encoded length of a [`BlockEntry`].
pub const BLOCK_ENTRY_LEN: usize = 64;
/// Flag: the block's bytes live in a parent archive.
pub const FLAG_PARENT: u8 = 1;

/// Where one block of the logical stream is stored and how it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockEntry {
    /// Logical offset of the block's first byte.
    pub logical_offset: u64,
    /// File offset of the stored bytes (parent logical offset when `parent` is set).
    pub stored_offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Raw length.
    pub raw_len: u32,
    /// Codec.
    pub codec: Codec,
    /// Parent index, when the block lives in a parent archive.
    pub parent: Option<u8>,
    /// crc32c of the stored bytes.
    pub crc: u32,
    /// Content hash of the raw bytes.
    pub hash: [u8; 32],
}

impl BlockEntry {
    /// Appends the 64-byte encoding.
    pub fn put(&self, v: &mut Vec<u8>) {
        v.put_u64(self.logical_offset);
        v.put_u64(self.stored_offset);
        v.put_u32(self.stored_len);
        v.put_u32(self.raw_len);
        v.put_u8(self.codec.id());
        v.put_u8(if self.parent.is_some() {
            FLAG_PARENT
        } else {
            0
        });
        v.put_u8(self.parent.unwrap_or(0));
        v.put_u8(0);
        v.put_u32(self.crc);
        v.extend_from_slice(&self.hash);
    }

    /// Parses all entries of an index page and checks each against the limits, the data
    /// region `[128, data_end)` and contiguity starting at `first_logical`.
    pub fn parse_page(
        raw: &[u8],
        first_logical: u64,
        data_end: u64,
        encrypted: bool,
    ) -> Result<Vec<BlockEntry>> {
        if !raw.len().is_multiple_of(BLOCK_ENTRY_LEN) {
            return Err(Error::Invalid {
                what: "index page length",
                value: raw.len() as u64,
            });
        }
        let mut out = Vec::with_capacity(raw.len() / BLOCK_ENTRY_LEN);
        let mut next = first_logical;
        for row in raw.chunks_exact(BLOCK_ENTRY_LEN) {
            let e = Self::parse(row, data_end, encrypted)?;
            if e.logical_offset != next {
                return Err(Error::Inconsistent(format!(
                    "block at logical offset {} follows one ending at {next}",
                    e.logical_offset
                )));
            }
            next = e.logical_offset + e.raw_len as u64;
            out.push(e);
        }
        check_stored_ranges(&out)?;
        Ok(out)
    }

    /// Parses one 64-byte entry.
    pub fn parse(row: &[u8], data_end: u64, encrypted: bool) -> Result<BlockEntry> {
        let mut c = Cursor::new(row, "block entry");
        let logical_offset = c.u64()?;
        let stored_offset = c.u64()?;
        let stored_len = c.u32()?;
        let raw_len = c.u32()?;
        let codec = Codec::from_id(c.u8()?)?;
        let flags = c.u8()?;
        let parent_index = c.u8()?;
        c.reserved(1)?;
        let crc = c.u32()?;
        let hash = c.array::<32>()?;
        if flags & !FLAG_PARENT != 0 {
            return Err(Error::Reserved {
                what: "block entry flags",
            });
        }
        if raw_len == 0 || raw_len > limits::MAX_BLOCK_SIZE {
            return Err(Error::Limit {
                what: "block raw_len",
                value: raw_len as u64,
                limit: limits::MAX_BLOCK_SIZE as u64,
            });
        }
        if logical_offset
            .checked_add(raw_len as u64)
            .is_none_or(|e| e > limits::MAX_LOGICAL_SIZE)
        {
            return Err(Error::Limit {
                what: "block logical end",
                value: logical_offset,
                limit: limits::MAX_LOGICAL_SIZE,
            });
        }
        let parent = if flags & FLAG_PARENT != 0 {
            if stored_len != 0 || crc != 0 {
                return Err(Error::Inconsistent("parent block with stored bytes".into()));
            }
            Some(parent_index)
        } else {
            if parent_index != 0 {
                return Err(Error::Reserved {
                    what: "block entry parent_index",
                });
            }
            None
        };
        if parent.is_none() {
            let empty = stored_len == 0;
            if empty != (codec == Codec::Zero) || (empty && (crc != 0 || stored_offset != 0)) {
                return Err(Error::Inconsistent(format!(
                    "block at logical offset {logical_offset}: codec {} with stored_len {stored_len}",
                    codec.name()
                )));
            }
            let max = limits::max_stored_len(raw_len, encrypted);
            if stored_len as u64 > max {
                return Err(Error::Limit {
                    what: "block stored_len",
                    value: stored_len as u64,
                    limit: max,
                });
            }
            let plain_len =
                stored_len.saturating_sub(if encrypted { limits::AEAD_TAG_LEN } else { 0 });
            if codec == Codec::None && plain_len != raw_len {
                return Err(Error::Inconsistent(format!(
                    "uncompressed block at logical offset {logical_offset} stores {stored_len} bytes for {raw_len}"
                )));
            }
            if !empty
                && (stored_offset < crate::header::HEADER_LEN as u64
                    || stored_offset
                        .checked_add(stored_len as u64)
                        .is_none_or(|e| e > data_end))
            {
                return Err(Error::OutOfBounds {
                    what: "block",
                    offset: stored_offset,
                    len: stored_len as u64,
                    bound: data_end,
                });
            }
        }
        Ok(BlockEntry {
            logical_offset,
            stored_offset,
            stored_len,
            raw_len,
            codec,
            parent,
            crc,
            hash,
        })
    }
}
/// §7.1: blocks of one page either share all of their stored bytes (dedup) or none of them.
/// A partial overlap would give two blocks sealed at different offsets the same bytes, which
/// §9's one-nonce-per-offset argument rules out. (`verify` checks the whole file.)
fn check_stored_ranges(entries: &[BlockEntry]) -> Result<()> {
    let mut ranges: Vec<(u64, u32)> = entries
        .iter()
        .filter(|e| e.parent.is_none() && e.stored_len > 0)
        .map(|e| (e.stored_offset, e.stored_len))
        .collect();
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        let ((a, a_len), (b, b_len)) = (w[0], w[1]);
        if (a, a_len) != (b, b_len) && b < a + a_len as u64 {
            return Err(Error::Inconsistent(format!(
                "stored bytes {a}..{} and {b}..{} overlap without being the same block",
                a + a_len as u64,
                b + b_len as u64
            )));
        }
    }
    Ok(())
}
