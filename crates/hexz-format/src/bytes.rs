//! Little-endian cursor helpers shared by the parsers.

use crate::{Error, Result};

/// Reads fixed-size little-endian fields from a slice whose length was checked by the caller.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Cursor { buf, pos: 0, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::Truncated {
                what: self.what,
                need: self.pos.saturating_add(n) as u64,
                have: self.buf.len() as u64,
            }),
        }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Consumes `n` reserved bytes, which must be zero.
    pub(crate) fn reserved(&mut self, n: usize) -> Result<()> {
        let what = self.what;
        if self.take(n)?.iter().any(|&b| b != 0) {
            return Err(Error::Reserved { what });
        }
        Ok(())
    }
}

/// Appends little-endian fields to a vector.
pub(crate) trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_i64(&mut self, v: i64);
    fn put_zeros(&mut self, n: usize);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
}

/// Returns `heap[offset..offset+len]`, or an out-of-bounds error naming `what`.
/// Splits a table's raw bytes into `count` rows of `row_len` bytes and the heap after them;
/// fewer bytes than the rows need is `Truncated`.
pub(crate) fn split_rows<'a>(
    raw: &'a [u8],
    count: u64,
    row_len: usize,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8])> {
    let rows_len = count
        .checked_mul(row_len as u64)
        .filter(|&n| n <= raw.len() as u64)
        .ok_or(Error::Truncated {
            what,
            need: count.saturating_mul(row_len as u64),
            have: raw.len() as u64,
        })?;
    Ok(raw.split_at(rows_len as usize))
}

pub(crate) fn heap_slice<'a>(
    heap: &'a [u8],
    offset: u32,
    len: u32,
    what: &'static str,
) -> Result<&'a [u8]> {
    let start = offset as usize;
    start
        .checked_add(len as usize)
        .and_then(|end| heap.get(start..end))
        .ok_or(Error::OutOfBounds {
            what,
            offset: offset as u64,
            len: len as u64,
            bound: heap.len() as u64,
        })
}
