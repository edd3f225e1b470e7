//! Encryption settings ([`KeySource`], [`KdfParams`], [`Encryption`]) and, with the
//! `encryption` feature, the engine's use of `hexz-crypto` (`docs/FORMAT.md` §9).
//!
//! The public types exist in every build, so that callers (CLI, Python) are written once;
//! without the feature, writing with encryption or opening an encrypted archive fails with
//! [`Error::Unsupported`].

use crate::{Error, Part, Place, Result};
use std::fmt;
use zeroize::Zeroize;

/// Where the key of an encrypted archive comes from. Zeroized on drop; `Debug` never shows
/// the key or passphrase.
#[derive(Clone)]
pub enum KeySource {
    /// A raw 32-byte key (`kdf = 2`): from a key file or `HEXZ_KEY` (see `docs/keys.md`).
    RawKey([u8; 32]),
    /// A passphrase, stretched with Argon2id (`kdf = 1`). Its UTF-8 bytes are used as they
    /// are: no trimming, no Unicode normalization.
    Passphrase(String),
}

impl KeySource {
    /// A raw key written as 64 hexadecimal digits (as in `HEXZ_KEY`).
    pub fn from_hex(hex: &str) -> Result<KeySource> {
        #[cfg(feature = "encryption")]
        {
            let k = hexz_crypto::MasterKey::from_hex(hex).map_err(key_error)?;
            Ok(KeySource::RawKey(*k.as_bytes()))
        }
        #[cfg(not(feature = "encryption"))]
        {
            let _ = hex;
            Err(unsupported())
        }
    }

    /// A raw key read from a key file (`docs/keys.md`: 32 raw bytes, or 64 hexadecimal
    /// digits and a newline).
    pub fn from_key_file(path: &std::path::Path) -> Result<KeySource> {
        #[cfg(feature = "encryption")]
        {
            let k = hexz_crypto::MasterKey::read_key_file(path).map_err(key_error)?;
            Ok(KeySource::RawKey(*k.as_bytes()))
        }
        #[cfg(not(feature = "encryption"))]
        {
            let _ = path;
            Err(unsupported())
        }
    }

    /// A new random raw key (from the operating system's CSPRNG) and its key file text.
    #[cfg(feature = "encryption")]
    pub fn generate() -> (KeySource, zeroize::Zeroizing<String>) {
        let k = hexz_crypto::MasterKey::generate();
        (KeySource::RawKey(*k.as_bytes()), k.to_key_file())
    }

    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    fn kind(&self) -> &'static str {
        match self {
            KeySource::RawKey(_) => "raw key",
            KeySource::Passphrase(_) => "passphrase",
        }
    }
}

impl Drop for KeySource {
    fn drop(&mut self) {
        match self {
            KeySource::RawKey(k) => k.zeroize(),
            KeySource::Passphrase(p) => p.zeroize(),
        }
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::RawKey(_) => f.write_str("RawKey(<redacted>)"),
            KeySource::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
        }
    }
}

/// Argon2id parameters for a passphrase (stored in the header; `docs/FORMAT.md` §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// The default: 64 MiB, 3 iterations, 4 lanes (RFC 9106's second recommended option,
    /// above OWASP's Argon2id minimums); about 0.4-0.6 s on one core of a current x86 CPU.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost: 64 * 1024,
        t_cost: 3,
        parallelism: 4,
    };

    /// Cheap parameters (64 KiB, 1 iteration, 1 lane) for tests and fixtures only: they give
    /// a passphrase almost no protection against guessing.
    pub const fn testing() -> KdfParams {
        KdfParams {
            m_cost: 64,
            t_cost: 1,
            parallelism: 1,
        }
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How a writer encrypts an archive: the key, and the Argon2id parameters used when the key
/// is a passphrase (ignored for a raw key).
#[derive(Debug, Clone)]
pub struct Encryption {
    /// The key or passphrase.
    pub key: KeySource,
    /// Argon2id parameters for a passphrase.
    pub kdf: KdfParams,
}

impl Encryption {
    /// Encryption with `key` and the default Argon2id parameters.
    pub fn new(key: KeySource) -> Encryption {
        Encryption {
            key,
            kdf: KdfParams::DEFAULT,
        }
    }

    /// Encryption with a raw 32-byte key.
    pub fn raw_key(key: [u8; 32]) -> Encryption {
        Self::new(KeySource::RawKey(key))
    }

    /// Encryption with a passphrase and the default Argon2id parameters.
    pub fn passphrase(passphrase: impl Into<String>) -> Encryption {
        Self::new(KeySource::Passphrase(passphrase.into()))
    }

    /// The same, with other Argon2id parameters.
    pub fn with_kdf(mut self, kdf: KdfParams) -> Encryption {
        self.kdf = kdf;
        self
    }
}

#[cfg(not(feature = "encryption"))]
fn unsupported() -> Error {
    Error::Unsupported("encryption (this build of hexz lacks the `encryption` feature)".into())
}

#[cfg(feature = "encryption")]
fn key_error(e: hexz_crypto::Error) -> Error {
    Error::InvalidInput(e.to_string())
}

/// The keys of one encrypted archive, and its header (bound into the summary's associated
/// data). Without the `encryption` feature this type has no values, so `Option<Crypt>` is
/// always `None` and the engine's encrypted paths are dead code.
#[cfg(feature = "encryption")]
pub(crate) struct Crypt {
    keys: hexz_crypto::ArchiveKeys,
    header: [u8; 128],
}

#[cfg(not(feature = "encryption"))]
pub(crate) enum Crypt {}

/// What a writer puts into the header for encryption.
pub(crate) struct HeaderCrypto {
    pub(crate) kdf: hexz_format::Kdf,
    pub(crate) key_check: [u8; 16],
}

/// A new archive's keys, waiting for the header bytes that the summary will bind.
#[cfg(feature = "encryption")]
pub(crate) struct PendingKeys(hexz_crypto::ArchiveKeys);
#[cfg(not(feature = "encryption"))]
pub(crate) enum PendingKeys {}

impl PendingKeys {
    pub(crate) fn finish(self, header: [u8; 128]) -> Crypt {
        #[cfg(feature = "encryption")]
        {
            Crypt::new(self.0, header)
        }
        #[cfg(not(feature = "encryption"))]
        {
            let _ = header;
            match self {}
        }
    }
}

/// Derives a new archive's keys (running Argon2id with a random salt for a passphrase) and
/// what the header says about them.
pub(crate) fn prepare_writer(
    enc: &Encryption,
    archive_id: [u8; 16],
) -> Result<(HeaderCrypto, PendingKeys)> {
    #[cfg(feature = "encryption")]
    {
        let (hc, keys) = Crypt::for_writing(enc, archive_id)?;
        Ok((hc, PendingKeys(keys)))
    }
    #[cfg(not(feature = "encryption"))]
    {
        let _ = (enc, archive_id);
        Err(unsupported())
    }
}

/// The content hash of raw block bytes: keyed BLAKE3 when encrypted, plain BLAKE3 otherwise.
pub(crate) fn content_hash(crypt: Option<&Crypt>, raw: &[u8]) -> [u8; 32] {
    match crypt {
        Some(c) => c.content_hash(raw),
        None => *blake3::hash(raw).as_bytes(),
    }
}

#[cfg(feature = "encryption")]
mod imp {
    use super::*;
    use hexz_crypto::{ArchiveKeys, BlockAad, FrameAad, MasterKey};
    use hexz_format::{BlockEntry, Codec, FrameKind, Header, Kdf};

    fn params(k: &KdfParams) -> hexz_crypto::KdfParams {
        hexz_crypto::KdfParams {
            m_cost: k.m_cost,
            t_cost: k.t_cost,
            p: k.parallelism,
        }
    }

    impl Crypt {
        /// Derives a new archive's keys: a random Argon2id salt for a passphrase.
        pub(crate) fn for_writing(
            enc: &Encryption,
            archive_id: [u8; 16],
        ) -> Result<(HeaderCrypto, hexz_crypto::ArchiveKeys)> {
            let (master, kdf) = match &enc.key {
                KeySource::RawKey(k) => (MasterKey::from_bytes(*k), Kdf::RawKey),
                KeySource::Passphrase(p) => {
                    let salt: [u8; 16] = rand::random();
                    let m = MasterKey::from_passphrase(p.as_bytes(), &salt, &params(&enc.kdf))
                        .map_err(|e| Error::InvalidInput(e.to_string()))?;
                    let kdf = Kdf::Argon2id {
                        m_cost: enc.kdf.m_cost,
                        t_cost: enc.kdf.t_cost,
                        parallelism: enc.kdf.parallelism,
                        salt,
                    };
                    (m, kdf)
                }
            };
            let keys = ArchiveKeys::derive(&master, archive_id);
            let hc = HeaderCrypto {
                kdf,
                key_check: keys.key_check(),
            };
            Ok((hc, keys))
        }

        pub(crate) fn new(keys: ArchiveKeys, header: [u8; 128]) -> Crypt {
            Crypt { keys, header }
        }

        /// The keys of an archive being opened: derives them from `key` as the header's KDF
        /// says and checks them against the header's key check.
        pub(crate) fn for_reading(
            header: &Header,
            header_bytes: [u8; 128],
            key: &KeySource,
            name: &str,
        ) -> Result<Crypt> {
            if let Kdf::Argon2id { m_cost, t_cost, .. } = header.kdf {
                // `Header::parse` checked the §12 limits; the local budget is lower.
                if matches!(key, KeySource::Passphrase(_)) {
                    check_local_kdf_budget(m_cost, t_cost, name)?;
                }
            }
            let master = match (&header.kdf, key) {
                (Kdf::RawKey, KeySource::RawKey(k)) => MasterKey::from_bytes(*k),
                (
                    Kdf::Argon2id {
                        m_cost,
                        t_cost,
                        parallelism,
                        salt,
                    },
                    KeySource::Passphrase(p),
                ) => {
                    let p_ = hexz_crypto::KdfParams {
                        m_cost: *m_cost,
                        t_cost: *t_cost,
                        p: *parallelism,
                    };
                    MasterKey::from_passphrase(p.as_bytes(), salt, &p_).map_err(|e| match e {
                        hexz_crypto::Error::InvalidKey(m) => {
                            Error::InvalidInput(format!("{name}: {m}"))
                        }
                        e => Error::InvalidInput(format!("{name}: deriving the key: {e}")),
                    })?
                }
                (Kdf::None, _) => {
                    return Err(Error::format(
                        Place::new(name, Part::Header),
                        hexz_format::Error::Inconsistent("encrypted without a kdf".into()),
                    ))
                }
                (kdf, given) => {
                    let needs = match kdf {
                        Kdf::RawKey => "a raw key (key file or HEXZ_KEY)",
                        _ => "a passphrase",
                    };
                    return Err(Error::WrongKey(format!(
                        "{name} is encrypted with {needs}, but a {} was given",
                        given.kind()
                    )));
                }
            };
            let keys = ArchiveKeys::derive(&master, header.archive_id);
            keys.check_key(&header.key_check).map_err(|_| {
                Error::WrongKey(format!(
                    "wrong {} for {name} (the header's key check does not match)",
                    key.kind()
                ))
            })?;
            Ok(Crypt {
                keys,
                header: header_bytes,
            })
        }

        pub(crate) fn content_hash(&self, raw: &[u8]) -> [u8; 32] {
            self.keys.content_hash(raw)
        }

        fn frame_aad(&self, offset: u64, raw_len: u32, codec: u8, kind: FrameKind) -> FrameAad<'_> {
            FrameAad {
                offset,
                raw_len,
                codec,
                kind: kind as u8,
                header: (kind == FrameKind::Summary).then_some(&self.header),
            }
        }

        /// Seals a block's compressed bytes in place, for `stored_offset`.
        pub(crate) fn seal_block(
            &self,
            stored_offset: u64,
            raw_len: u32,
            codec: Codec,
            hash: [u8; 32],
            buf: &mut Vec<u8>,
        ) -> Result<()> {
            let aad = BlockAad {
                stored_offset,
                raw_len,
                codec: codec.id(),
                content_hash: hash,
            };
            self.keys
                .seal_block(&aad, buf)
                .map_err(|e| Error::InvalidInput(format!("sealing a block: {e}")))
        }

        pub(crate) fn seal_frame(
            &self,
            offset: u64,
            raw_len: u32,
            codec: u8,
            kind: FrameKind,
            buf: &mut Vec<u8>,
        ) -> Result<()> {
            self.keys
                .seal_frame(&self.frame_aad(offset, raw_len, codec, kind), buf)
                .map_err(|e| Error::InvalidInput(format!("sealing the {}: {e}", kind.name())))
        }

        /// Opens block `e`'s sealed stored bytes into `out` (`stored.len() - 16` bytes).
        pub(crate) fn open_block(
            &self,
            e: &BlockEntry,
            stored: &[u8],
            out: &mut [u8],
            what: &dyn Fn() -> Place,
        ) -> Result<()> {
            let aad = BlockAad {
                stored_offset: e.stored_offset,
                raw_len: e.raw_len,
                codec: e.codec.id(),
                content_hash: e.hash,
            };
            if stored.len() != out.len() + hexz_crypto::TAG_LEN {
                return Err(Error::Integrity {
                    place: Box::new(what()),
                    detail: format!(
                        "{} sealed bytes cannot hold {} bytes and the tag",
                        stored.len(),
                        out.len()
                    ),
                });
            }
            self.keys
                .open_block(&aad, stored, out)
                .map_err(|e| auth_error(e, what))
        }

        /// Opens a sealed frame into a new vector (the compressed bytes).
        pub(crate) fn open_frame(
            &self,
            offset: u64,
            raw_len: u32,
            codec: u8,
            kind: FrameKind,
            stored: &[u8],
            what: &dyn Fn() -> Place,
        ) -> Result<Vec<u8>> {
            let mut buf = stored.to_vec();
            self.keys
                .open_frame_in_place(&self.frame_aad(offset, raw_len, codec, kind), &mut buf)
                .map_err(|e| auth_error(e, what))?;
            Ok(buf)
        }
    }

    /// Environment variable raising (or lowering) what this reader spends on a passphrase's
    /// Argon2id: at most this many MiB, and that many MiB times 8 passes in all.
    const KDF_BUDGET_ENV: &str = "HEXZ_KDF_MAX_MIB";
    /// The default of [`KDF_BUDGET_ENV`]: 1 GiB, 16 times the writer's default memory.
    const DEFAULT_KDF_BUDGET_MIB: u32 = 1024;

    /// A local limit below §12's: a crafted header at the spec's maximum (2 GiB, 64 passes)
    /// would cost minutes and gigabytes before the key check could even fail, so a reader
    /// refuses anything above its budget unless the user raised it.
    fn check_local_kdf_budget(m_kib: u32, t: u32, name: &str) -> Result<()> {
        let budget_mib = match std::env::var(KDF_BUDGET_ENV) {
            Ok(v) => v.trim().parse::<u32>().map_err(|_| {
                Error::InvalidInput(format!("{KDF_BUDGET_ENV}={v:?} is not a number of MiB"))
            })?,
            Err(_) => DEFAULT_KDF_BUDGET_MIB,
        };
        let m_mib = u64::from(m_kib).div_ceil(1024);
        let budget = u64::from(budget_mib);
        if m_mib > budget || m_mib * u64::from(t) > budget * 8 {
            return Err(Error::InvalidInput(format!(
                "{name}: the archive's passphrase key derivation asks for {m_mib} MiB and \
                 {t} passes of Argon2id, above this reader's budget of {budget} MiB \
                 ({} MiB-passes); if you trust the archive, raise it with \
                 {KDF_BUDGET_ENV}={}",
                budget * 8,
                (m_mib * u64::from(t)).div_ceil(8).max(m_mib)
            )));
        }
        Ok(())
    }

    fn auth_error(e: hexz_crypto::Error, what: &dyn Fn() -> Place) -> Error {
        Error::Integrity {
            place: Box::new(what()),
            detail: match e {
                hexz_crypto::Error::Authentication => "AES-GCM authentication failed: the stored \
                     bytes were altered, moved, swapped or taken from another archive"
                    .into(),
                e => e.to_string(),
            },
        }
    }
}

#[cfg(not(feature = "encryption"))]
impl Crypt {
    pub(crate) fn for_reading(
        _header: &hexz_format::Header,
        _header_bytes: [u8; 128],
        _key: &KeySource,
        _name: &str,
    ) -> Result<Crypt> {
        Err(unsupported())
    }

    pub(crate) fn content_hash(&self, _raw: &[u8]) -> [u8; 32] {
        match *self {}
    }

    pub(crate) fn seal_block(
        &self,
        _stored_offset: u64,
        _raw_len: u32,
        _codec: hexz_format::Codec,
        _hash: [u8; 32],
        _buf: &mut Vec<u8>,
    ) -> Result<()> {
        match *self {}
    }

    pub(crate) fn seal_frame(
        &self,
        _offset: u64,
        _raw_len: u32,
        _codec: u8,
        _kind: hexz_format::FrameKind,
        _buf: &mut Vec<u8>,
    ) -> Result<()> {
        match *self {}
    }

    pub(crate) fn open_block(
        &self,
        _e: &hexz_format::BlockEntry,
        _stored: &[u8],
        _out: &mut [u8],
        _what: &dyn Fn() -> Place,
    ) -> Result<()> {
        match *self {}
    }

    pub(crate) fn open_frame(
        &self,
        _offset: u64,
        _raw_len: u32,
        _codec: u8,
        _kind: hexz_format::FrameKind,
        _stored: &[u8],
        _what: &dyn Fn() -> Place,
    ) -> Result<Vec<u8>> {
        match *self {}
    }
}
