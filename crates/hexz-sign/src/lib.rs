//! Signatures of `.hxz` archives, exactly as `docs/FORMAT.md` §10 defines them: Ed25519
//! (RFC 8032) over `"hexz-v1 signature" ‖ root hash`, and the key files that hold the keys
//! (`docs/keys.md`). No archive layout and no storage: the engine computes the root hash and
//! places the 144-byte signature block.
//!
//! - [`SigningKey`]: a private key, generated from the OS's CSPRNG or read from a PKCS#8 PEM
//!   file (RFC 8410, what `openssl genpkey -algorithm ed25519` writes). Zeroized on drop.
//! - [`VerifyingKey`]: a public key, from a SubjectPublicKeyInfo PEM file (what
//!   `openssl pkey -pubout` writes) or 64 hex digits.
//! - [`keygen`](fn@keygen) writes a new pair: the private key file with mode 0600, never over
//!   an existing file.
//!
//! A signature that does not verify, or one made by another key, is [`Error::BadSignature`].

#![forbid(unsafe_code)]

/// The crate's error type.
mod error;
/// Hex encoding and decoding of 32-byte keys.
mod hex;
/// Key file I/O: bounded, zeroized reads, and new files that never replace one.
mod key_file;
/// Generating a key pair and writing its two files ([`keygen`](fn@keygen)).
mod keygen;
/// The private key ([`SigningKey`]): generation, PKCS#8 PEM, signing a root hash.
mod signing_key;
/// Unit tests: RFC 8032 vectors, known answers, key files and OpenSSL interoperation.
#[cfg(test)]
mod tests;
/// The public key ([`VerifyingKey`]): parsing and verification of signature blocks.
mod verifying_key;

pub use error::{Error, Result};
pub use keygen::{keygen, KeyPairFiles};
pub use signing_key::SigningKey;
pub use verifying_key::{verify_self_signed, VerifyingKey};

/// The domain-separation prefix of signed messages, re-exported for tests and tools.
pub const MESSAGE_PREFIX: &[u8] = hexz_format::signature::SIGNED_MESSAGE_PREFIX;
