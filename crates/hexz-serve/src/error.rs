//! The crate's error type.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong when starting or running a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No archive was given.
    #[error("no archives to serve")]
    NoArchives,
    /// A file could not be opened or inspected.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The path names a directory or another non-regular file.
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The path has no file name to serve it under (or one that is not UTF-8).
    #[error("cannot serve {}: {reason}", path.display())]
    BadName {
        /// The path.
        path: PathBuf,
        /// What is wrong with its name.
        reason: &'static str,
    },
    /// Two paths share a file name, and each is served at `/<file name>`.
    #[error(
        "two archives would be served as /{name}: {} and {}; rename one (each archive is \
         served under its file name)",
        first.display(),
        second.display()
    )]
    DuplicateName {
        /// The shared file name.
        name: String,
        /// The first path with it.
        first: PathBuf,
        /// The second path with it.
        second: PathBuf,
    },
    /// The file does not open as a `.hxz` archive (corrupt, truncated, or another kind of file).
    #[error("refusing to serve {}: not a valid archive: {source}", path.display())]
    InvalidArchive {
        /// The file.
        path: PathBuf,
        /// What the engine found wrong.
        #[source]
        source: hexz_core::Error,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The async runtime or the signal handlers could not be set up.
    #[error("cannot start the server: {0}")]
    Runtime(#[source] io::Error),
    /// A setting of [`Options`](crate::Options) is out of range.
    #[error("invalid server option {name}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server thread of a [`ServerHandle`](crate::ServerHandle) panicked.
    #[error("the server thread panicked")]
    Panicked,
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
