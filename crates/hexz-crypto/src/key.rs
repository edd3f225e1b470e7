//! Keys: the master key (raw, hex, key file or passphrase; zeroized on drop) and the
//! per-archive keys derived from it with HKDF-SHA256.

use crate::kdf::{argon2id, KdfParams, SALT_LEN};
use crate::{Error, Result};
use aes_gcm::aead::array::Array;
use aes_gcm::aead::KeyInit;
use aes_gcm::Aes256Gcm;
use sha2::Sha256;
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Bytes of a master key and of every derived key.
pub const KEY_LEN: usize = 32;
/// Bytes of an archive id (the HKDF salt).
pub const ARCHIVE_ID_LEN: usize = 16;
/// Bytes of the header's key check.
pub const KEY_CHECK_LEN: usize = 16;

/// HKDF info of the AES-256-GCM data key.
pub const INFO_DATA: &[u8] = b"hexz-v1 data";
/// HKDF info of the BLAKE3 content-hash key.
pub const INFO_CONTENT_HASH: &[u8] = b"hexz-v1 content-hash";
/// HKDF info of the key check.
pub const INFO_KEY_CHECK: &[u8] = b"hexz-v1 key-check";

/// The 32-byte master key of `docs/FORMAT.md` §9. Zeroized on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_LEN]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A raw 32-byte key.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey(bytes)
    }

    /// A raw key from a slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<MasterKey> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::InvalidKey(format!("a raw key is 32 bytes, not {}", bytes.len()))
        })?;
        Ok(MasterKey(arr))
    }

    /// A new random key from the operating system's CSPRNG.
    pub fn generate() -> MasterKey {
        use rand::TryRngCore;
        let mut k = [0u8; KEY_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut k)
            .expect("the operating system's random number generator failed");
        MasterKey(k)
    }

    /// A key written as 64 hexadecimal digits (either case; surrounding ASCII whitespace is
    /// ignored), as in `HEXZ_KEY`.
    pub fn from_hex(hex: &str) -> Result<MasterKey> {
        let s = hex.trim_ascii().as_bytes();
        if s.len() != 2 * KEY_LEN {
            return Err(Error::InvalidKey(format!(
                "a hex key is 64 hexadecimal digits, not {} characters",
                s.len()
            )));
        }
        let mut k = [0u8; KEY_LEN];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            match (nibble(pair[0]), nibble(pair[1])) {
                (Some(h), Some(l)) => k[i] = h << 4 | l,
                _ => {
                    k.zeroize();
                    return Err(Error::InvalidKey(
                        "a hex key may hold only the digits 0-9, a-f and A-F".into(),
                    ));
                }
            }
        }
        Ok(MasterKey(k))
    }

    /// Parses the bytes of a key file (`docs/keys.md`): exactly 32 bytes are a raw key;
    /// anything else must be 64 hexadecimal digits, optionally followed by a line ending.
    pub fn parse_key_file(bytes: &[u8]) -> Result<MasterKey> {
        if bytes.len() == KEY_LEN {
            return Self::from_slice(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::InvalidKey(
                "a key file holds 32 raw bytes or 64 hexadecimal digits and a newline".into(),
            )
        })?;
        let body = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(text);
        if body.len() != 2 * KEY_LEN {
            return Err(Error::InvalidKey(format!(
                "a key file holds 32 raw bytes or 64 hexadecimal digits and a newline, not {} bytes",
                bytes.len()
            )));
        }
        Self::from_hex(body)
    }

    /// Reads and parses a key file; the bytes read are zeroized afterwards.
    pub fn read_key_file(path: &Path) -> Result<MasterKey> {
        use std::io::Read;
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // A key file is tiny: refuse to read more than a few lines of it.
        let mut buf = Zeroizing::new(Vec::with_capacity(128));
        file.take(1024).read_to_end(&mut buf).map_err(io)?;
        Self::parse_key_file(&buf)
    }

    /// The key file text for this key: 64 lowercase hex digits and a newline.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(2 * KEY_LEN + 1));
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s.push('\n');
        s
    }

    /// The master key of a passphrase: `Argon2id(passphrase, salt, m, t, p)`, version 0x13,
    /// 32 bytes of output. The passphrase is taken byte for byte (no normalization).
    pub fn from_passphrase(
        passphrase: &[u8],
        salt: &[u8; SALT_LEN],
        params: &KdfParams,
    ) -> Result<MasterKey> {
        if passphrase.is_empty() {
            return Err(Error::InvalidKey("the passphrase is empty".into()));
        }
        params.validate()?;
        let mut k = [0u8; KEY_LEN];
        argon2id(passphrase, salt, params, &[], &[], &mut k)?;
        Ok(MasterKey(k))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// HKDF-SHA256 (RFC 5869) of `ikm` with `salt` and `info` into `out`.
pub(crate) fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) {
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .expect("HKDF-SHA256 output of at most 255 × 32 bytes");
}

/// The keys of one archive: `HKDF-SHA256(ikm = master key, salt = archive id, info)` for the
/// data key, the content-hash key and the key check. Zeroized on drop.
pub struct ArchiveKeys {
    pub(crate) archive_id: [u8; ARCHIVE_ID_LEN],
    /// The cipher keyed with the data key; sealing and opening are in `aead.rs`.
    pub(crate) aead: Aes256Gcm,
    hash_key: Zeroizing<[u8; KEY_LEN]>,
    key_check: [u8; KEY_CHECK_LEN],
}

impl fmt::Debug for ArchiveKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArchiveKeys")
            .field("archive_id", &self.archive_id)
            .finish_non_exhaustive()
    }
}

impl ArchiveKeys {
    /// Derives the keys of the archive `archive_id` from `master`.
    pub fn derive(master: &MasterKey, archive_id: [u8; ARCHIVE_ID_LEN]) -> ArchiveKeys {
        let ikm = master.as_bytes();
        let mut data = Zeroizing::new([0u8; KEY_LEN]);
        hkdf_sha256(ikm, &archive_id, INFO_DATA, &mut *data);
        let mut hash_key = Zeroizing::new([0u8; KEY_LEN]);
        hkdf_sha256(ikm, &archive_id, INFO_CONTENT_HASH, &mut *hash_key);
        let mut key_check = [0u8; KEY_CHECK_LEN];
        hkdf_sha256(ikm, &archive_id, INFO_KEY_CHECK, &mut key_check);
        let aead = Aes256Gcm::new(&Array::from(*data));
        ArchiveKeys {
            archive_id,
            aead,
            hash_key,
            key_check,
        }
    }

    /// The archive id the keys belong to.
    pub fn archive_id(&self) -> [u8; ARCHIVE_ID_LEN] {
        self.archive_id
    }

    /// The key check to store in the header.
    pub fn key_check(&self) -> [u8; KEY_CHECK_LEN] {
        self.key_check
    }

    /// Compares the key check with the header's: [`Error::WrongKey`] when they differ.
    /// (The key check is public, so a plain comparison leaks nothing.)
    pub fn check_key(&self, stored: &[u8; KEY_CHECK_LEN]) -> Result<()> {
        if *stored == self.key_check {
            Ok(())
        } else {
            Err(Error::WrongKey)
        }
    }

    /// The keyed content hash of raw block bytes: BLAKE3 keyed with the content-hash key.
    pub fn content_hash(&self, raw: &[u8]) -> [u8; 32] {
        *blake3::keyed_hash(&self.hash_key, raw).as_bytes()
    }

    /// A BLAKE3 hasher keyed with the content-hash key, for hashing in pieces.
    pub fn content_hasher(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(&self.hash_key)
    }
}
