//! The encryption primitives of the `.hxz` format, exactly as `docs/FORMAT.md` §9 defines them,
//! and nothing else: no archive layout, no storage.
//!
//! - [`MasterKey`]: the 32-byte master key, from raw bytes, hex, a key file
//!   (`docs/keys.md`) or a passphrase through Argon2id ([`KdfParams`]). Zeroized on drop.
//! - [`ArchiveKeys`]: the per-archive keys derived with HKDF-SHA256 from the master key and
//!   the archive id: the AES-256-GCM data key, the BLAKE3 content-hash key and the header's
//!   key check.
//! - Sealing and opening of blocks ([`BlockAad`]) and frames ([`FrameAad`]) with AES-256-GCM,
//!   the nonce being the stored bytes' file offset (u64 LE ‖ 4 zero bytes).
//!
//! A wrong key is [`Error::WrongKey`] (found by the key check, before anything is decrypted);
//! a tag that does not verify is [`Error::Authentication`].
//!
//! The only I/O is [`MasterKey::read_key_file`], a convenience for callers.

#![forbid(unsafe_code)]

/// AES-256-GCM sealing and opening of blocks and frames, and their nonces.
mod aead;
/// The crate's error type.
mod error;
/// Known-answer tests of Argon2id, HKDF-SHA256 and AES-256-GCM.
#[cfg(test)]
mod kat;
/// The passphrase KDF (Argon2id) and the limits on its parameters.
mod kdf;
/// The master key and the per-archive keys derived from it.
mod key;

pub use aead::{
    nonce_bytes, BlockAad, FrameAad, AAD_BLOCK, AAD_FRAME, FRAME_KIND_SUMMARY, HEADER_LEN, TAG_LEN,
};
pub use error::{Error, Result};
pub use kdf::{KdfParams, SALT_LEN};
pub use key::{
    ArchiveKeys, MasterKey, ARCHIVE_ID_LEN, INFO_CONTENT_HASH, INFO_DATA, INFO_KEY_CHECK,
    KEY_CHECK_LEN, KEY_LEN,
};
