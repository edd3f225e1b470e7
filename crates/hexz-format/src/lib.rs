//! The `.hxz` on-disk layout, as specified in `docs/FORMAT.md`.
//!
//! Every parser here is a pure function over `&[u8]` that checks every size against
//! [`limits`] before trusting it, and every encoder writes exactly the bytes the spec names.
//! No I/O, no allocation beyond the decoded values.

#![forbid(unsafe_code)]

pub mod attrs;
mod bytes;
pub mod codec;
pub mod entry;
pub mod entry_pages;
mod error;
pub mod extension;
pub mod features;
pub mod footer;
pub mod frame;
pub mod header;
pub mod index;
pub mod limits;
pub mod page_directory;
pub mod parent;
pub mod record;
pub mod signature;
pub mod summary;

pub use attrs::FileAttrs;
pub use codec::Codec;
pub use entry::{Entry, EntryKind};
pub use error::{Error, Result};
pub use extension::ExtensionRef;
pub use features::{OptionalFeatures, RequiredFeatures};
pub use footer::Footer;
pub use frame::{FrameKind, FrameRef, PageRef};
pub use header::{Cipher, Header, Kdf};
pub use index::BlockEntry;
pub use page_directory::{PageDirectory, PageSet};
pub use parent::Parent;
pub use record::{DType, Record, RecordGroup};
pub use signature::Signature;
pub use summary::Summary;

/// The format version this crate writes by default, and the newest it reads.
pub const VERSION: u16 = 2;
/// The oldest format version this crate reads (and can still write).
pub const MIN_VERSION: u16 = 1;

/// Whether `version` is one this crate reads.
pub fn is_known_version(version: u16) -> bool {
    (MIN_VERSION..=VERSION).contains(&version)
}

/// CRC-32C (Castagnoli) as used for every checksum in the format.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}
