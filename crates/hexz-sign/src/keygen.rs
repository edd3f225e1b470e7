//! Generating a key pair and writing its two files.

use crate::key_file::create_new;
use crate::{Error, Result, SigningKey};
use std::path::{Path, PathBuf};

/// Paths of a key pair written by [`keygen`].
#[derive(Debug, Clone)]
pub struct KeyPairFiles {
    /// The private key (PKCS#8 PEM, mode 0600).
    pub private: PathBuf,
    /// The public key (SubjectPublicKeyInfo PEM).
    pub public: PathBuf,
}

/// Generates a key pair and writes `DIR/NAME.key` (private, mode 0600) and `DIR/NAME.pub`.
/// Refuses to replace either file; on failure neither is left behind.
pub fn keygen(dir: &Path, name: &str) -> Result<(SigningKey, KeyPairFiles)> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::InvalidKey(format!(
            "key name {name:?} must be a plain file name"
        )));
    }
    let files = KeyPairFiles {
        private: dir.join(format!("{name}.key")),
        public: dir.join(format!("{name}.pub")),
    };
    let key = SigningKey::generate();
    let pem = key.to_pem()?;
    create_new(&files.private, pem.as_bytes(), 0o600)?;
    if let Err(e) = create_new(
        &files.public,
        key.verifying_key().to_pem().as_bytes(),
        0o644,
    ) {
        let _ = std::fs::remove_file(&files.private);
        return Err(e);
    }
    Ok((key, files))
}
