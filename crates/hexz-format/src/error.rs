//! The one error type of this crate.

/// Result alias for format parsing.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a byte string is not a valid piece of a v1 archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The magic bytes do not match: not a `.hxz` file (or not this structure).
    #[error("bad magic in {what}: not a hexz archive")]
    BadMagic {
        /// Which structure.
        what: &'static str,
    },
    /// The file was written by a format version this reader does not know.
    #[error("unsupported format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Version this build supports.
        supported: u16,
    },
    /// A required feature bit is set that this reader does not implement.
    #[error("archive requires unknown feature bit {bit}")]
    UnknownFeature {
        /// Bit number in `required_features`.
        bit: u32,
    },
    /// A checksum did not match the bytes it covers.
    #[error("checksum mismatch in {what}: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// Which structure.
        what: &'static str,
        /// Checksum in the file.
        stored: u32,
        /// Checksum of the bytes.
        computed: u32,
    },
    /// Fewer bytes than the structure needs.
    #[error("{what} truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Which structure.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// A reserved field is not zero.
    #[error("reserved bytes in {what} are not zero")]
    Reserved {
        /// Which structure.
        what: &'static str,
    },
    /// A size read from the file is beyond the hard limits of the format.
    #[error("{what} = {value} exceeds the format limit of {limit}")]
    Limit {
        /// Which field.
        what: &'static str,
        /// Value in the file.
        value: u64,
        /// Largest value allowed.
        limit: u64,
    },
    /// A range points outside the region that must contain it.
    #[error("{what} at offset {offset} (+{len}) lies outside 0..{bound}")]
    OutOfBounds {
        /// Which structure.
        what: &'static str,
        /// Start offset.
        offset: u64,
        /// Length.
        len: u64,
        /// End of the containing region.
        bound: u64,
    },
    /// A field holds a value the spec does not define.
    #[error("invalid {what}: {value}")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// Structures disagree with each other (e.g. blocks that do not tile the stream).
    #[error("inconsistent archive: {0}")]
    Inconsistent(String),
    /// An entry path breaks the path rules of the format.
    #[error("invalid entry path {path:?}: {why}")]
    BadPath {
        /// The path (lossy UTF-8).
        path: String,
        /// Which rule it breaks.
        why: &'static str,
    },
    /// The summary lists a critical extension (§7.5) of a type this crate does not know:
    /// reading the archive without it would return wrong data.
    #[error("the archive needs extension type {kind}, which this build of hexz does not know")]
    UnknownCriticalExtension {
        /// The extension's type.
        kind: u16,
    },
}
