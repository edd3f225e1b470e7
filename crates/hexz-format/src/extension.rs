//! The extension table of a v2 summary (`docs/FORMAT.md` §7.5): typed frames a later writer
//! can add, which a reader that does not know a type skips, unless the row says it is
//! critical.

use crate::bytes::{Cursor, Put};
use crate::frame::{FrameKind, FrameRef};
use crate::{limits, Error, Result};

/// Encoded length of an [`ExtensionRef`].
pub const EXTENSION_REF_LEN: usize = 64;
/// Row flag: a reader that does not know the type MUST refuse the archive.
const FLAG_CRITICAL: u16 = 1;

/// The extension types v2 defines.
pub mod types {
    /// File attributes (§7.6): owners, times, device numbers, hard links, extended attributes.
    pub const FILE_ATTRIBUTES: u16 = 1;
    /// Entry pages (§7.7): the entries table (and file attributes) cut into pages, so that a
    /// tree of any size needs no one large frame and a lookup by path reads one page.
    pub const ENTRY_PAGES: u16 = 2;
    /// Page directory (§7.8): the index and record page directories in frames of their own,
    /// so that the summary does not grow with the archive.
    pub const PAGE_DIRECTORY: u16 = 3;
    /// The types this crate reads; an archive with a critical row of another type is refused.
    pub const KNOWN: &[u16] = &[FILE_ATTRIBUTES, ENTRY_PAGES, PAGE_DIRECTORY];
}

/// One row of the extension table: a typed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionRef {
    /// What the frame holds (see [`types`]).
    pub kind: u16,
    /// Whether a reader that does not know `kind` must refuse the archive.
    pub critical: bool,
    /// The frame.
    pub frame: FrameRef,
}

impl ExtensionRef {
    /// Appends the 64-byte row.
    pub(crate) fn put(&self, v: &mut Vec<u8>) {
        v.put_u16(self.kind);
        v.put_u16(if self.critical { FLAG_CRITICAL } else { 0 });
        v.put_zeros(4);
        self.frame.put(v);
    }

    /// Parses `count` rows from `c`: sorted by type without repeats, each a present frame
    /// before `data_end`.
    pub(crate) fn read_table(
        c: &mut Cursor<'_>,
        count: u32,
        data_end: u64,
        encrypted: bool,
    ) -> Result<Vec<ExtensionRef>> {
        if count > limits::MAX_EXTENSIONS {
            return Err(Error::Limit {
                what: "extension_count",
                value: count as u64,
                limit: limits::MAX_EXTENSIONS as u64,
            });
        }
        let mut out: Vec<ExtensionRef> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let kind = c.u16()?;
            let flags = c.u16()?;
            c.reserved(4)?;
            let frame = FrameRef::read(c)?;
            if flags & !FLAG_CRITICAL != 0 {
                return Err(Error::Reserved {
                    what: "extension flags",
                });
            }
            if kind == 0 {
                return Err(Error::Invalid {
                    what: "extension type",
                    value: 0,
                });
            }
            if out.last().is_some_and(|p| p.kind >= kind) {
                return Err(Error::Inconsistent(format!(
                    "extension type {kind} is out of order or repeated"
                )));
            }
            if frame.is_absent() {
                return Err(Error::Inconsistent(format!(
                    "extension type {kind} has no frame"
                )));
            }
            frame.validate(FrameKind::Extension, data_end, encrypted)?;
            out.push(ExtensionRef {
                kind,
                critical: flags & FLAG_CRITICAL != 0,
                frame,
            });
        }
        Ok(out)
    }
}
