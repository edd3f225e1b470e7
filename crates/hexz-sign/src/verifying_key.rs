//! The public key: parsing (PEM or hex) and verification of signature blocks.

use crate::hex::{from_hex, hex};
use crate::key_file::{in_file, read_small};
use crate::{Error, Result};
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};
use hexz_format::signature::Signature;
use std::path::Path;

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(pub(crate) ed25519_dalek::VerifyingKey);

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
