//! The crate's error type.

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. No variant carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key (or the key derived from the passphrase) is not the archive's: the key check
    /// in the header does not match.
    #[error("wrong key or passphrase")]
    WrongKey,
    /// A sealed block or frame failed AES-GCM authentication: it was changed, moved,
    /// swapped or taken from another archive.
    #[error("authentication failed (AES-GCM tag mismatch): the data was altered, moved or comes from another archive")]
    Authentication,
    /// Stored bytes too short to hold the tag.
    #[error("sealed data of {0} bytes is shorter than the 16-byte tag")]
    TooShort(usize),
    /// A key, key file or passphrase that cannot be used (never echoes the key).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Argon2id parameters out of the accepted range.
    #[error("invalid Argon2id parameters: {0}")]
    KdfParams(String),
    /// Argon2id failed (for example, its memory could not be allocated).
    #[error("Argon2id failed: {0}")]
    Kdf(String),
    /// Reading a key file failed.
    #[error("cannot read key file {path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
}
