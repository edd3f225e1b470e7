//! The crate's one error type.

use std::io;
use std::path::PathBuf;

/// Errors of the cache's own API. Reads through a [`crate::CachedStore`] return
/// [`std::io::Error`] (the [`hexz_core::ReadAt`] contract): a cache that cannot write, or a
/// corrupt cached chunk, never fails a read; only the inner store's errors reach the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory of the cache could not be created, read or removed.
    #[error("cache {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An option is out of range (a zero chunk size, a zero limit).
    #[error("invalid cache option: {0}")]
    InvalidOption(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io { ref source, .. } => io::Error::new(source.kind(), e),
            Error::InvalidOption(_) => io::Error::new(io::ErrorKind::InvalidInput, e),
        }
    }
}
