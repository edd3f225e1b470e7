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

use aes_gcm::aead::array::Array;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use sha2::Sha256;
use std::fmt;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Bytes of a master key and of every derived key.
pub const KEY_LEN: usize = 32;
/// Bytes of the AES-GCM tag appended to every sealed block and frame.
pub const TAG_LEN: usize = 16;
/// Bytes of an archive id (the HKDF salt).
pub const ARCHIVE_ID_LEN: usize = 16;
/// Bytes of an Argon2id salt.
pub const SALT_LEN: usize = 16;
/// Bytes of the header's key check.
pub const KEY_CHECK_LEN: usize = 16;
/// Bytes of the header bound into the summary's associated data.
pub const HEADER_LEN: usize = 128;

/// HKDF info of the AES-256-GCM data key.
pub const INFO_DATA: &[u8] = b"hexz-v1 data";
/// HKDF info of the BLAKE3 content-hash key.
pub const INFO_CONTENT_HASH: &[u8] = b"hexz-v1 content-hash";
/// HKDF info of the key check.
pub const INFO_KEY_CHECK: &[u8] = b"hexz-v1 key-check";
/// First bytes of a block's associated data.
pub const AAD_BLOCK: &[u8] = b"hexz-v1 block";
/// First bytes of a frame's associated data.
pub const AAD_FRAME: &[u8] = b"hexz-v1 frame";
/// Frame kind of the summary, whose associated data also binds the header.
pub const FRAME_KIND_SUMMARY: u8 = 1;

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

/// Argon2id parameters (`docs/FORMAT.md` §3 kdf_m_cost, kdf_t_cost, kdf_parallelism).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations (passes over the memory).
    pub t_cost: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// The default for new archives: 64 MiB, 3 passes, 4 lanes. This is RFC 9106's second
    /// recommended option and above every OWASP Argon2id configuration (the strongest being
    /// 46 MiB, 1 pass, 1 lane; the memory-lightest 7 MiB, 5 passes).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 3,
        p: 4,
    };
    /// Largest memory a reader accepts from a header: 2 GiB (RFC 9106's first option).
    pub const MAX_M_COST: u32 = 2 * 1024 * 1024;
    /// Most iterations a reader accepts from a header.
    pub const MAX_T_COST: u32 = 64;
    /// Most lanes a reader accepts from a header.
    pub const MAX_P: u32 = 64;

    /// Cheap parameters (64 KiB, 1 pass, 1 lane) for tests and fixtures only: they give a
    /// passphrase almost no protection.
    pub const fn testing() -> KdfParams {
        KdfParams {
            m_cost: 64,
            t_cost: 1,
            p: 1,
        }
    }

    /// Checks the parameters against Argon2's own rules (`m_cost ≥ 8 × p`, `t_cost ≥ 1`,
    /// `p ≥ 1`) and against the limits of `docs/FORMAT.md` §12, which bound what a header can
    /// make a reader spend.
    pub fn validate(&self) -> Result<()> {
        let KdfParams { m_cost, t_cost, p } = *self;
        if !(1..=Self::MAX_P).contains(&p) {
            return Err(Error::KdfParams(format!(
                "parallelism {p} is not in 1..={}",
                Self::MAX_P
            )));
        }
        if !(1..=Self::MAX_T_COST).contains(&t_cost) {
            return Err(Error::KdfParams(format!(
                "{t_cost} iterations is not in 1..={}",
                Self::MAX_T_COST
            )));
        }
        if m_cost < 8 * p || m_cost > Self::MAX_M_COST {
            return Err(Error::KdfParams(format!(
                "memory {m_cost} KiB is not in {}..={} KiB",
                8 * p,
                Self::MAX_M_COST
            )));
        }
        Ok(())
    }

    /// Whether the parameters are at least as strong as [`KdfParams::DEFAULT`]'s memory and
    /// meet OWASP's minimum (19 MiB and 2 passes, or more memory with fewer passes).
    pub fn meets_owasp_minimum(&self) -> bool {
        // OWASP's equivalent configurations: m=47104 t=1, m=19456 t=2, m=12288 t=3,
        // m=9216 t=4, m=7168 t=5 (all p=1).
        let need = match self.t_cost {
            0 => return false,
            1 => 47104,
            2 => 19456,
            3 => 12288,
            4 => 9216,
            _ => 7168,
        };
        self.m_cost >= need
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

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

/// Argon2id v0x13 with an optional secret and associated data (the format uses neither; the
/// known-answer test of RFC 9106 does).
fn argon2id(
    pwd: &[u8],
    salt: &[u8],
    params: &KdfParams,
    secret: &[u8],
    ad: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let kdf_err = |e: argon2::Error| Error::Kdf(e.to_string());
    let mut b = argon2::ParamsBuilder::new();
    b.m_cost(params.m_cost)
        .t_cost(params.t_cost)
        .p_cost(params.p)
        .output_len(out.len());
    if !ad.is_empty() {
        b.data(argon2::AssociatedData::new(ad).map_err(kdf_err)?);
    }
    let p = b.build().map_err(|e| Error::KdfParams(e.to_string()))?;
    let ctx = if secret.is_empty() {
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p)
    } else {
        argon2::Argon2::new_with_secret(
            secret,
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            p,
        )
        .map_err(kdf_err)?
    };
    ctx.hash_password_into(pwd, salt, out).map_err(kdf_err)
}

/// HKDF-SHA256 (RFC 5869) of `ikm` with `salt` and `info` into `out`.
fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) {
    hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .expect("HKDF-SHA256 output of at most 255 × 32 bytes");
}

/// The associated data of a sealed block (`docs/FORMAT.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockAad {
    /// File offset of the stored bytes (also the nonce).
    pub stored_offset: u64,
    /// Raw (decoded) length.
    pub raw_len: u32,
    /// Codec id.
    pub codec: u8,
    /// The block's keyed content hash, as the index records it.
    pub content_hash: [u8; 32],
}

/// The associated data of a sealed frame (`docs/FORMAT.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameAad<'a> {
    /// File offset of the stored bytes (also the nonce).
    pub offset: u64,
    /// Raw (decoded) length.
    pub raw_len: u32,
    /// Codec id.
    pub codec: u8,
    /// Frame kind: 1 summary, 2 index page, 3 entries, 4 record page, 5 record groups,
    /// 6 metadata, 7 parents.
    pub kind: u8,
    /// The 128 header bytes: present for the summary (kind 1) only, so that the summary
    /// authenticates the header.
    pub header: Option<&'a [u8; HEADER_LEN]>,
}

/// The keys of one archive: `HKDF-SHA256(ikm = master key, salt = archive id, info)` for the
/// data key, the content-hash key and the key check. Zeroized on drop.
pub struct ArchiveKeys {
    archive_id: [u8; ARCHIVE_ID_LEN],
    aead: Aes256Gcm,
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

    /// Seals a block in place: `buf` (compressed bytes) becomes ciphertext ‖ tag.
    pub fn seal_block(&self, aad: &BlockAad, buf: &mut Vec<u8>) -> Result<()> {
        self.seal(aad.stored_offset, &self.block_aad(aad), buf)
    }

    /// Opens a sealed block: checks the tag of `stored` and decrypts it into `out`, which must
    /// be `stored.len() - 16` bytes. On failure `out` is left as it was.
    pub fn open_block(&self, aad: &BlockAad, stored: &[u8], out: &mut [u8]) -> Result<()> {
        self.open(aad.stored_offset, &self.block_aad(aad), stored, out)
    }

    /// Opens a sealed block in place: `buf` loses its tag and holds the plaintext.
    pub fn open_block_in_place(&self, aad: &BlockAad, buf: &mut Vec<u8>) -> Result<()> {
        self.open_in_place(aad.stored_offset, &self.block_aad(aad), buf)
    }

    /// Seals a frame in place: `buf` (compressed bytes) becomes ciphertext ‖ tag.
    pub fn seal_frame(&self, aad: &FrameAad<'_>, buf: &mut Vec<u8>) -> Result<()> {
        self.seal(aad.offset, &self.frame_aad(aad), buf)
    }

    /// Opens a sealed frame into `out` (`stored.len() - 16` bytes).
    pub fn open_frame(&self, aad: &FrameAad<'_>, stored: &[u8], out: &mut [u8]) -> Result<()> {
        self.open(aad.offset, &self.frame_aad(aad), stored, out)
    }

    /// Opens a sealed frame in place: `buf` loses its tag and holds the plaintext.
    pub fn open_frame_in_place(&self, aad: &FrameAad<'_>, buf: &mut Vec<u8>) -> Result<()> {
        self.open_in_place(aad.offset, &self.frame_aad(aad), buf)
    }

    fn block_aad(&self, a: &BlockAad) -> Vec<u8> {
        let mut v = Vec::with_capacity(AAD_BLOCK.len() + 16 + 8 + 4 + 1 + 32);
        v.extend_from_slice(AAD_BLOCK);
        v.extend_from_slice(&self.archive_id);
        v.extend_from_slice(&a.stored_offset.to_le_bytes());
        v.extend_from_slice(&a.raw_len.to_le_bytes());
        v.push(a.codec);
        v.extend_from_slice(&a.content_hash);
        v
    }

    fn frame_aad(&self, a: &FrameAad<'_>) -> Vec<u8> {
        let mut v = Vec::with_capacity(AAD_FRAME.len() + 16 + 8 + 4 + 2 + HEADER_LEN);
        v.extend_from_slice(AAD_FRAME);
        v.extend_from_slice(&self.archive_id);
        v.extend_from_slice(&a.offset.to_le_bytes());
        v.extend_from_slice(&a.raw_len.to_le_bytes());
        v.push(a.codec);
        v.push(a.kind);
        if let Some(h) = a.header {
            v.extend_from_slice(h);
        }
        v
    }

    fn seal(&self, offset: u64, aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let tag = self
            .aead
            .encrypt_inout_detached(&nonce(offset), aad, buf.as_mut_slice().into())
            .map_err(|_| Error::InvalidKey("plaintext too long for AES-GCM".into()))?;
        buf.extend_from_slice(&tag);
        Ok(())
    }

    fn open(&self, offset: u64, aad: &[u8], stored: &[u8], out: &mut [u8]) -> Result<()> {
        let n = stored
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::TooShort(stored.len()))?;
        if out.len() != n {
            return Err(Error::TooShort(stored.len()));
        }
        let (ct, tag) = stored.split_at(n);
        let tag = Array::try_from(tag).map_err(|_| Error::TooShort(stored.len()))?;
        let io = InOutBuf::new(ct, out).map_err(|_| Error::TooShort(stored.len()))?;
        self.aead
            .decrypt_inout_detached(&nonce(offset), aad, io, &tag)
            .map_err(|_| Error::Authentication)
    }

    fn open_in_place(&self, offset: u64, aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        let n = buf
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::TooShort(buf.len()))?;
        let (ct, tag) = buf.split_at_mut(n);
        let tag = Array::try_from(&*tag).map_err(|_| Error::TooShort(n + TAG_LEN))?;
        self.aead
            .decrypt_inout_detached(&nonce(offset), aad, ct.into(), &tag)
            .map_err(|_| Error::Authentication)?;
        buf.truncate(n);
        Ok(())
    }
}

/// The nonce of stored bytes at file `offset`: offset u64 LE ‖ 4 zero bytes.
pub fn nonce_bytes(offset: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&offset.to_le_bytes());
    n
}

fn nonce(offset: u64) -> Array<u8, aes_gcm::aead::consts::U12> {
    Array::from(nonce_bytes(offset))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 9106 §5.3: the Argon2id test vector (with secret and associated data).
    #[test]
    fn argon2id_rfc9106_vector() {
        let mut out = [0u8; 32];
        let params = KdfParams {
            m_cost: 32,
            t_cost: 3,
            p: 4,
        };
        argon2id(&[1; 32], &[2; 16], &params, &[3; 8], &[4; 12], &mut out).unwrap();
        assert_eq!(
            out.to_vec(),
            unhex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
        );
    }

    /// RFC 5869 Appendix A.1 (test case 1, SHA-256).
    #[test]
    fn hkdf_rfc5869_case1() {
        let mut okm = [0u8; 42];
        hkdf_sha256(
            &[0x0b; 22],
            &unhex("000102030405060708090a0b0c"),
            &unhex("f0f1f2f3f4f5f6f7f8f9"),
            &mut okm,
        );
        assert_eq!(
            okm.to_vec(),
            unhex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
        );
    }

    /// RFC 5869 Appendix A.2 (test case 2, long inputs).
    #[test]
    fn hkdf_rfc5869_case2() {
        let ikm: Vec<u8> = (0x00..=0x4f).collect();
        let salt: Vec<u8> = (0x60..=0xaf).collect();
        let info: Vec<u8> = (0xb0..=0xff).collect();
        let mut okm = [0u8; 82];
        hkdf_sha256(&ikm, &salt, &info, &mut okm);
        assert_eq!(
            okm.to_vec(),
            unhex(
                "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c
                 59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71
                 cc30c58179ec3e87c14c01d5c1f3434f1d87"
            )
        );
    }

    fn gcm_kat(key: &str, nonce: &str, pt: &str, aad: &str, ct_tag: &str) {
        let aead = Aes256Gcm::new(&Array::try_from(unhex(key).as_slice()).unwrap());
        let nonce = Array::try_from(unhex(nonce).as_slice()).unwrap();
        let mut buf = unhex(pt);
        let tag = aead
            .encrypt_inout_detached(&nonce, &unhex(aad), buf.as_mut_slice().into())
            .unwrap();
        buf.extend_from_slice(&tag);
        assert_eq!(buf, unhex(ct_tag));
    }

    /// NIST CAVS gcmEncryptExtIV256.rsp (128-bit plaintext and AAD) and test case 16 of the
    /// GCM specification (McGrew and Viega), both AES-256-GCM with a 96-bit IV.
    #[test]
    fn aes256gcm_nist_vectors() {
        gcm_kat(
            "92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b",
            "ac93a1a6145299bde902f21a",
            "2d71bcfa914e4ac045b2aa60955fad24",
            "1e0889016f67601c8ebea4943bc23ad6",
            "8995ae2e6df3dbf96fac7b7137bae67f eca5aa77d51d4a0a14d9c51e1da474ab",
        );
        gcm_kat(
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
             8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
             76fc6ece0f4e1768cddf8853bb2d551b",
        );
    }
}
