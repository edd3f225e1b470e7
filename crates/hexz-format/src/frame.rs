//! Frame and page references (`docs/FORMAT.md` §6, §7).

use crate::bytes::{Cursor, Put};
use crate::{limits, Codec, Error, Result};

/// Encoded length of a [`FrameRef`].
pub const FRAME_REF_LEN: usize = 56;
/// Encoded length of a [`PageRef`].
pub const PAGE_REF_LEN: usize = 64;

/// What a frame holds; bound into the AEAD associated data of encrypted frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// The summary.
    Summary = 1,
    /// An index page.
    IndexPage = 2,
    /// The entries table.
    Entries = 3,
    /// A record page.
    RecordPage = 4,
    /// The record groups table.
    RecordGroups = 5,
    /// User metadata.
    Metadata = 6,
    /// The parents table.
    Parents = 7,
    /// A frame of the extension table (v2, §7.5).
    Extension = 8,
}

impl FrameKind {
    /// Human-readable name used in errors.
    pub fn name(self) -> &'static str {
        match self {
            FrameKind::Summary => "summary",
            FrameKind::IndexPage => "index page",
            FrameKind::Entries => "entries table",
            FrameKind::RecordPage => "record page",
            FrameKind::RecordGroups => "record groups table",
            FrameKind::Metadata => "metadata",
            FrameKind::Parents => "parents table",
            FrameKind::Extension => "extension",
        }
    }

    /// Largest raw length a frame of this kind may have.
    pub fn max_raw_len(self) -> u32 {
        match self {
            FrameKind::Summary => limits::MAX_SUMMARY_RAW,
            FrameKind::IndexPage | FrameKind::RecordPage => limits::MAX_PAGE_RAW,
            _ => limits::MAX_TABLE_RAW,
        }
    }
}

/// Locates one frame in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameRef {
    /// File offset.
    pub offset: u64,
    /// Stored length.
    pub stored_len: u32,
    /// Raw (decoded) length.
    pub raw_len: u32,
    /// Codec id (validated by [`FrameRef::codec`]).
    pub codec: u8,
    /// crc32c of the stored bytes.
    pub crc: u32,
    /// blake3 of the stored bytes.
    pub hash: [u8; 32],
}

impl FrameRef {
    /// Whether this is the all-zero "absent" reference.
    pub fn is_absent(&self) -> bool {
        *self == FrameRef::default()
    }

    /// The codec.
    pub fn codec(&self) -> Result<Codec> {
        Codec::from_id(self.codec)
    }

    pub(crate) fn put(&self, v: &mut Vec<u8>) {
        v.put_u64(self.offset);
        v.put_u32(self.stored_len);
        v.put_u32(self.raw_len);
        v.put_u8(self.codec);
        v.put_zeros(3);
        v.put_u32(self.crc);
        v.extend_from_slice(&self.hash);
    }

    pub(crate) fn read(c: &mut Cursor<'_>) -> Result<FrameRef> {
        let offset = c.u64()?;
        let stored_len = c.u32()?;
        let raw_len = c.u32()?;
        let codec = c.u8()?;
        c.reserved(3)?;
        let crc = c.u32()?;
        let hash = c.array::<32>()?;
        Ok(FrameRef {
            offset,
            stored_len,
            raw_len,
            codec,
            crc,
            hash,
        })
    }

    /// Checks codec, limits for `kind` and that the frame lies in `[128, data_end)`.
    pub fn validate(&self, kind: FrameKind, data_end: u64, encrypted: bool) -> Result<()> {
        let codec = self.codec()?;
        if codec == Codec::Zero {
            return Err(Error::Invalid {
                what: "frame codec",
                value: self.codec as u64,
            });
        }
        if self.raw_len > kind.max_raw_len() {
            return Err(Error::Limit {
                what: kind.name(),
                value: self.raw_len as u64,
                limit: kind.max_raw_len() as u64,
            });
        }
        if self.stored_len as u64 > limits::max_stored_len(self.raw_len, encrypted) {
            return Err(Error::Limit {
                what: "frame stored_len",
                value: self.stored_len as u64,
                limit: limits::max_stored_len(self.raw_len, encrypted),
            });
        }
        let end = self.offset.checked_add(self.stored_len as u64);
        if self.offset < crate::header::HEADER_LEN as u64 || end.is_none_or(|e| e > data_end) {
            return Err(Error::OutOfBounds {
                what: kind.name(),
                offset: self.offset,
                len: self.stored_len as u64,
                bound: data_end,
            });
        }
        Ok(())
    }
}

/// A frame reference plus the first logical offset (index pages) or record number (record pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageRef {
    /// Where the page is.
    pub frame: FrameRef,
    /// First logical offset or first record number of the page.
    pub first: u64,
}

impl PageRef {
    pub(crate) fn put(&self, v: &mut Vec<u8>) {
        self.frame.put(v);
        v.put_u64(self.first);
    }

    pub(crate) fn read(c: &mut Cursor<'_>) -> Result<PageRef> {
        Ok(PageRef {
            frame: FrameRef::read(c)?,
            first: c.u64()?,
        })
    }
}
