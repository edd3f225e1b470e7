//! The private key: generation, PKCS#8 PEM, and signing of a root hash.

use crate::key_file::{in_file, read_small};
use crate::{Error, Result, VerifyingKey};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::Signer;
use hexz_format::signature::Signature;
use std::path::Path;
use zeroize::Zeroizing;

/// An Ed25519 private key. Zeroized on drop (ed25519-dalek's `zeroize` feature).
pub struct SigningKey(pub(crate) ed25519_dalek::SigningKey);

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
