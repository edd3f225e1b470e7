//! Signatures of `.hxz` archives, exactly as `docs/FORMAT.md` §10 defines them: Ed25519
//! (RFC 8032) over `"hexz-v1 signature" ‖ root hash`, and the key files that hold the keys
//! (`docs/keys.md`). No archive layout and no storage: the engine computes the root hash and
//! places the 144-byte signature block.
//!
//! - [`SigningKey`]: a private key, generated from the OS's CSPRNG or read from a PKCS#8 PEM
//!   file (RFC 8410, what `openssl genpkey -algorithm ed25519` writes). Zeroized on drop.
//! - [`VerifyingKey`]: a public key, from a SubjectPublicKeyInfo PEM file (what
//!   `openssl pkey -pubout` writes) or 64 hex digits.
//! - [`keygen`] writes a new pair: the private key file with mode 0600, never over an existing
//!   file.
//!
//! A signature that does not verify, or one made by another key, is [`Error::BadSignature`].

#![forbid(unsafe_code)]

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::Signer;
use hexz_format::signature::{Signature, SIGNED_MESSAGE_PREFIX};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

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

/// The longest key file read: a PEM key is a few hundred bytes.
const MAX_KEY_FILE: u64 = 4096;

/// An Ed25519 private key. Zeroized on drop (ed25519-dalek's `zeroize` feature).
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.verifying_key().to_hex())
    }
}

impl SigningKey {
    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> SigningKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::Rng::fill(&mut rand::rng(), &mut seed[..]);
        SigningKey::from_seed(&seed)
    }

    /// The key of a 32-byte RFC 8032 secret (seed).
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// Parses a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, RFC 8410).
    pub fn from_pem(pem: &str) -> Result<SigningKey> {
        if pem.contains("PUBLIC KEY") {
            return Err(Error::InvalidKey(
                "this is a public key; signing needs the private key (the .key file)".into(),
            ));
        }
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map(SigningKey)
            .map_err(|e| {
                Error::InvalidKey(format!("not an Ed25519 private key in PKCS#8 PEM: {e}"))
            })
    }

    /// Reads a private key file (PKCS#8 PEM); the bytes read are zeroized afterwards.
    pub fn read_file(path: &Path) -> Result<SigningKey> {
        let text = read_small(path)?;
        SigningKey::from_pem(&text).map_err(|e| in_file(path, e))
    }

    /// The PKCS#8 PEM text of this key.
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        self.0
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|s| Zeroizing::new(s.to_string()))
            .map_err(|e| Error::InvalidKey(format!("cannot encode the private key: {e}")))
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// The signature block for an archive whose root hash is `root_hash`.
    pub fn sign_root(&self, root_hash: &[u8; 32]) -> Signature {
        let sig = self.0.sign(&Signature::message(root_hash));
        Signature {
            public_key: self.0.verifying_key().to_bytes(),
            root_hash: *root_hash,
            signature: sig.to_bytes(),
        }
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({})", self.to_hex())
    }
}

impl VerifyingKey {
    /// The key of 32 bytes (RFC 8032 encoding); fails unless they encode a curve point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<VerifyingKey> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(VerifyingKey)
            .map_err(|_| Error::InvalidKey("not a valid Ed25519 public key".into()))
    }

    /// Parses a public key: SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`) or 64 hex
    /// digits. Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<VerifyingKey> {
        let text = text.trim();
        if text.contains("PRIVATE KEY") {
            return Err(Error::InvalidKey(
                "this is a private key; give the public key (the .pub file) to verify".into(),
            ));
        }
        if text.starts_with("-----BEGIN") {
            return ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                .map(VerifyingKey)
                .map_err(|e| Error::InvalidKey(format!("not an Ed25519 public key in PEM: {e}")));
        }
        let bytes = from_hex(text).ok_or_else(|| {
            Error::InvalidKey(
                "a public key is a PEM block (BEGIN PUBLIC KEY) or 64 hex digits".into(),
            )
        })?;
        VerifyingKey::from_bytes(&bytes)
    }

    /// Reads a public key file (PEM or 64 hex digits).
    pub fn read_file(path: &Path) -> Result<VerifyingKey> {
        let text = read_small(path)?;
        VerifyingKey::parse(&text).map_err(|e| in_file(path, e))
    }

    /// The SubjectPublicKeyInfo PEM text of this key.
    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .expect("an Ed25519 public key always encodes")
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key as 64 lowercase hex digits (how `inspect` and `verify` name a signer).
    pub fn to_hex(&self) -> String {
        self.0
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Checks a signature block: made by this key, over `root_hash`, and valid (RFC 8032
    /// strict verification: no malleable or small-order encodings).
    pub fn verify(&self, sig: &Signature, root_hash: &[u8; 32]) -> Result<()> {
        if sig.public_key != self.to_bytes() {
            return Err(Error::BadSignature(format!(
                "signed by {}, not by the expected key {}",
                hex(&sig.public_key),
                self.to_hex()
            )));
        }
        if sig.root_hash != *root_hash {
            return Err(Error::BadSignature(
                "the signed root hash is not the archive's: its header or summary changed \
                 after signing"
                    .into(),
            ));
        }
        let s = ed25519_dalek::Signature::from_bytes(&sig.signature);
        self.0
            .verify_strict(&Signature::message(root_hash), &s)
            .map_err(|_| Error::BadSignature("the Ed25519 signature does not verify".into()))
    }
}

/// Checks a signature block against the public key it names itself: proves the archive is
/// intact since that key signed it, not who holds the key.
pub fn verify_self_signed(sig: &Signature, root_hash: &[u8; 32]) -> Result<VerifyingKey> {
    let key = VerifyingKey::from_bytes(&sig.public_key)
        .map_err(|_| Error::BadSignature("the signature's public key is not valid".into()))?;
    key.verify(sig, root_hash)?;
    Ok(key)
}

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

/// Writes a new file (never replacing one) with `mode` from its creation, synced to disk.
fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(io)?;
    let res = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = res {
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

fn read_small(path: &Path) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(512));
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_KEY_FILE {
        return Err(Error::InvalidKey(format!(
            "{}: too large for a key file",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&buf)
        .map_err(|_| Error::InvalidKey(format!("{}: a key file is text", path.display())))?;
    Ok(Zeroizing::new(text.to_string()))
}

fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::InvalidKey(m) => Error::InvalidKey(format!("{}: {m}", path.display())),
        e => e,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.as_bytes();
    if s.len() != 64 {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nib(s[2 * i])? << 4 | nib(s[2 * i + 1])?;
    }
    Some(out)
}

/// The domain-separation prefix of signed messages, re-exported for tests and tools.
pub const MESSAGE_PREFIX: &[u8] = SIGNED_MESSAGE_PREFIX;

#[cfg(test)]
mod tests;
