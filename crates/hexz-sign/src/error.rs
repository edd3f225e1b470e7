//! The crate's error type.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with a key or a signature.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file or key string could not be parsed.
    #[error("{0}")]
    InvalidKey(String),
    /// The signature does not verify under the expected public key.
    #[error("{0}")]
    BadSignature(String),
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
}
