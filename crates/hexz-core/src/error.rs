//! The one error type of the engine.

use std::path::PathBuf;

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, grouped by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid archive (bad magic, checksum, limits, layout).
    #[error("{context}: {source}")]
    Format {
        /// Where (file, structure).
        context: String,
        /// The format-level cause.
        #[source]
        source: hexz_format::Error,
    },
    /// Stored bytes do not match their checksum or hash: the archive is corrupt or tampered.
    #[error("integrity check failed for {place}: {detail}")]
    Integrity {
        /// Which archive, and which block or frame of it.
        place: Place,
        /// What did not match.
        detail: String,
    },
    /// The key or passphrase is not the archive's (its key check does not match), or is of
    /// the wrong kind (a raw key for a passphrase archive, or the reverse). Nothing was
    /// decrypted.
    #[error("{0}")]
    WrongKey(String),
    /// The archive is encrypted and no key or passphrase was given.
    #[error("{0}")]
    KeyRequired(String),
    /// A key was given for an archive that is not encrypted, so not authenticated either:
    /// refused rather than read as if it were protected.
    #[error("{0}")]
    NotEncrypted(String),
    /// A public key was given to verify the archive with, but it carries no signature.
    #[error("{0}")]
    NotSigned(String),
    /// The archive's signature does not verify: made by another key, or the archive changed
    /// after it was signed.
    #[error("signature check failed: {0}")]
    BadSignature(String),
    /// The archive needs a capability this build lacks (a feature bit or codec compiled out).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading or writing storage failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and on what.
        context: String,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
    /// No entry with this path.
    #[error("no entry named {0:?} in the archive")]
    EntryNotFound(String),
    /// A request is outside what the archive holds.
    #[error("{0}")]
    OutOfRange(String),
    /// The caller passed an invalid argument or input.
    #[error("{0}")]
    InvalidInput(String),
    /// A path given to the writer already exists in the archive.
    #[error("duplicate entry path {0:?}")]
    DuplicateEntry(String),
    /// A source file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Source {
        /// The source path.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
}

/// Where in which archive a check failed: what [`Error::Integrity`] carries, so a caller can
/// tell which block to look at (or refetch) without parsing a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The archive's path or URL, as it was opened.
    pub archive: String,
    /// The part of it.
    pub part: Part,
}

/// A part of an archive (`docs/FORMAT.md`): a data block or a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// A data block: its number in the block index and the logical offset it starts at.
    Block {
        /// The block's number.
        index: u64,
        /// The logical offset of its first byte.
        logical_offset: u64,
    },
    /// A frame (§6): the summary, an index or record page, a table.
    Frame {
        /// What the frame holds (`"index page"`, `"entries table"`, ...).
        kind: &'static str,
        /// The file offset of its stored bytes.
        offset: u64,
    },
    /// A record page whose rows are fewer than the summary says.
    RecordPage {
        /// The page's number.
        index: u32,
    },
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {}", self.part, self.archive)
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Block {
                index,
                logical_offset,
            } => write!(f, "block {index} (logical offset {logical_offset})"),
            Part::Frame { kind, offset } => write!(f, "{kind} (at byte {offset})"),
            Part::RecordPage { index } => write!(f, "record page {index}"),
        }
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn format(context: impl Into<String>, source: hexz_format::Error) -> Error {
        Error::Format {
            context: context.into(),
            source,
        }
    }

    /// True when the error says the data is corrupt (as opposed to unavailable or unsupported).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::Format { .. } | Error::Integrity { .. } | Error::BadSignature(_)
        )
    }
}
