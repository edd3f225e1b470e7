//! The one error type of the engine.

use std::path::PathBuf;

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, grouped by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid archive (bad magic, checksum, limits, layout).
    #[error("{place}: {source}")]
    Format {
        /// Which archive, and which part of it (boxed: errors are rare, results frequent).
        place: Box<Place>,
        /// The format-level cause.
        #[source]
        source: hexz_format::Error,
    },
    /// Stored bytes do not match their checksum or hash: the archive is corrupt or tampered.
    #[error("integrity check failed for {place}: {detail}")]
    Integrity {
        /// Which archive, and which block or frame of it.
        place: Box<Place>,
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
    /// A thin archive's parent cannot be opened where its parents table (or the caller) says
    /// it is (`docs/FORMAT.md` §8).
    #[error("{0}")]
    ParentMissing(String),
    /// A thin archive's parent is not the archive it was written against: another archive
    /// id or root hash than its parents table records.
    #[error("{0}")]
    ParentMismatch(String),
    /// The archive needs a capability this build lacks (a feature bit or codec compiled out).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Reading or writing storage failed.
    #[error("cannot {action} {place}: {source}")]
    Io {
        /// What was being done.
        action: Action,
        /// On which file or archive, and which part of it.
        place: Box<Place>,
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

/// Where in which archive something failed: what [`Error::Format`], [`Error::Integrity`] and
/// [`Error::Io`] carry, so a caller can tell which block to look at (or refetch) without
/// parsing a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The archive's path or URL, as it was opened (for an I/O error, the file acted on).
    pub archive: String,
    /// The part of it.
    pub part: Part,
}

impl Place {
    /// `part` of `archive`.
    pub fn new(archive: impl Into<String>, part: Part) -> Place {
        Place {
            archive: archive.into(),
            part,
        }
    }

    /// The file or archive as a whole.
    pub fn whole(archive: impl Into<String>) -> Place {
        Place::new(archive, Part::Whole)
    }
}

/// What an [`Error::Io`] was doing when storage failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Opening a file or object.
    Open,
    /// Finding its length.
    Stat,
    /// Reading from it.
    Read,
    /// Writing to it.
    Write,
    /// Creating it.
    Create,
    /// Making a finished archive visible at its path (rename and sync).
    Commit,
    /// Copying it.
    Copy,
    /// Starting a worker thread for it.
    StartThread,
    /// Using it as a cache directory.
    Cache,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Open => "open",
            Action::Stat => "find the length of",
            Action::Read => "read",
            Action::Write => "write",
            Action::Create => "create",
            Action::Commit => "commit",
            Action::Copy => "copy",
            Action::StartThread => "start a worker thread for",
            Action::Cache => "use the cache directory",
        })
    }
}

/// A part of an archive (`docs/FORMAT.md`): a data block, a frame, a fixed structure, or the
/// whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The file as a whole (its length, or the file acted on by an I/O error).
    Whole,
    /// The header (§3).
    Header,
    /// The footer (§2).
    Footer,
    /// The signature block (§10).
    Signature,
    /// A run of data blocks read together, starting at a logical offset.
    Blocks {
        /// The logical offset of the first byte wanted.
        logical_offset: u64,
    },
    /// Every index and record page, fetched together.
    Pages,
    /// An index page (§7.1).
    IndexPage {
        /// The page's number.
        index: u32,
    },
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
        match self.part {
            Part::Whole => f.write_str(&self.archive),
            part => write!(f, "{part} of {}", self.archive),
        }
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
            Part::Whole => f.write_str("the file"),
            Part::Header => f.write_str("the header"),
            Part::Footer => f.write_str("the footer"),
            Part::Signature => f.write_str("the signature"),
            Part::Blocks { logical_offset } => {
                write!(f, "the blocks from logical offset {logical_offset}")
            }
            Part::Pages => f.write_str("the index and record pages"),
            Part::IndexPage { index } => write!(f, "index page {index}"),
        }
    }
}

impl Error {
    /// An I/O error while doing `action` on `place`.
    pub fn io(action: Action, place: Place, source: std::io::Error) -> Error {
        Error::Io {
            action,
            place: Box::new(place),
            source,
        }
    }

    /// A format error in `place`.
    pub fn format(place: Place, source: hexz_format::Error) -> Error {
        Error::Format {
            place: Box::new(place),
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
