//! The Hexz engine: write and read `.hxz` snapshot archives.
//!
//! - [`ArchiveWriter`] builds an archive (files, trees, raw images, records, metadata),
//!   compressing blocks in parallel and committing atomically.
//! - [`Archive`] reads one from any [`ReadAt`] storage: random access to any byte range,
//!   a sharded block cache, read-ahead threads and parallel decompression;
//!   [`Archive::read_gather`] reads a batch of samples at once, serving raw blocks of a
//!   memory-mapped archive in place, and [`Archive::stats`] counts what reads cost.
//! - [`verify`] checks every byte of an archive (a thin archive's parents too).
//! - Thin archives ([`WriteOptions::parent`], `docs/FORMAT.md` §8) store only the blocks
//!   their parent lacks and read the rest from it; [`copy::copy_archive`] makes a
//!   self-contained copy. [`WriteOptions::chunking`] cuts blocks by content (FastCDC).
//! - With the `encryption` feature, archives are AES-256-GCM encrypted and authenticated
//!   block by block ([`WriteOptions::encryption`], [`ReadOptions::key`], `docs/FORMAT.md` §9).
//!
//! - With the `signing` feature, archives are signed with Ed25519 over their root hash
//!   ([`sign::sign_file`], `docs/FORMAT.md` §10) and readers given the signer's public key
//!   ([`ReadOptions::verify_key`]) check the signature at open and every hash on read.
//!
//! The byte layout lives in `hexz-format`; this crate holds no network, async or UI code.

mod archive;
mod cache;
pub mod codec;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod copy;
mod crypt;
mod error;
mod fork;
mod gather;
mod metadata;
mod prefetch;
pub mod sign;
pub mod sink;
mod stats;
pub mod store;
pub mod verify;
mod writer;

pub use archive::{
    read_header, resolve_parent_location, supported_features, Archive, HeldMetadata, ParentOpener,
    ReadOptions, Reopen, HELD_BUDGET, MAX_CHAIN_DEPTH,
};
pub use codec::Compression;
pub use crypt::{Encryption, KdfParams, KeySource};
pub use error::{Action, Error, Part, Place, Result};
pub use gather::{Placed, RELEASE_MAPPED_EVERY};
pub use hexz_format::Error as FormatError;
pub use hexz_format::VERSION as FORMAT_VERSION;
pub use stats::ReadStats;
/// The `required_features` bit of an encrypted archive (FORMAT.md §4).
pub const ENCRYPTED_FEATURE: u64 = hexz_format::RequiredFeatures::ENCRYPTED;
pub use hexz_format::{BlockEntry, Codec, DType, Entry, EntryKind, FileAttrs, Record, RecordGroup};
pub use sink::{FileSink, Sink};
pub use store::{FileStore, MemStore, Pin, ReadAt};
pub use writer::{
    meta_of, recorded_location, ArchiveWriter, CdcSizes, Chunking, EntryMeta, ThinParent,
    WriteOptions, WriteReport, DEFAULT_ENTRIES_PER_PAGE, DEFAULT_RECORD_BLOCK_MIN,
};
