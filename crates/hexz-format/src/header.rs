//! The 128-byte header at offset 0 (`docs/FORMAT.md` §3).

use crate::bytes::{Cursor, Put};
use crate::features::{OptionalFeatures, RequiredFeatures};
use crate::{crc32c, limits, Error, Result, VERSION};

/// Magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"\x89HXZ\r\n\x1a\n";
/// Encoded length of the header.
pub const HEADER_LEN: usize = 128;

/// The block cipher sealing blocks and frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// Not encrypted.
    None,
    /// AES-256-GCM.
    Aes256Gcm,
}

/// How the master key is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// No key.
    None,
    /// Argon2id over a passphrase.
    Argon2id {
        /// Memory in KiB.
        m_cost: u32,
        /// Iterations.
        t_cost: u32,
        /// Lanes.
        parallelism: u32,
        /// Salt.
        salt: [u8; 16],
    },
    /// A raw 32-byte key.
    RawKey,
}

/// The archive header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version (1 or 2; `docs/FORMAT.md` §15).
    pub version: u16,
    /// Nominal block size.
    pub block_size: u32,
    /// Required feature bits.
    pub required: RequiredFeatures,
    /// Optional feature bits.
    pub optional: OptionalFeatures,
    /// Random per-archive id.
    pub archive_id: [u8; 16],
    /// Cipher.
    pub cipher: Cipher,
    /// Key derivation.
    pub kdf: Kdf,
    /// Key check value (zero when not encrypted).
    pub key_check: [u8; 16],
}

impl Header {
    /// Encodes the header into exactly [`HEADER_LEN`] bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut v = Vec::with_capacity(HEADER_LEN);
        v.extend_from_slice(&MAGIC);
        v.put_u16(self.version);
        v.put_u16(HEADER_LEN as u16);
        v.put_u32(self.block_size);
        v.put_u64(self.required.0);
        v.put_u64(self.optional.0);
        v.extend_from_slice(&self.archive_id);
        v.put_u8(match self.cipher {
            Cipher::None => 0,
            Cipher::Aes256Gcm => 1,
        });
        let (kdf_id, m, t, p, salt) = match self.kdf {
            Kdf::None => (0, 0, 0, 0, [0; 16]),
            Kdf::Argon2id {
                m_cost,
                t_cost,
                parallelism,
                salt,
            } => (1, m_cost, t_cost, parallelism, salt),
            Kdf::RawKey => (2, 0, 0, 0, [0; 16]),
        };
        v.put_u8(kdf_id);
        v.put_zeros(2);
        v.put_u32(m);
        v.put_u32(t);
        v.put_u32(p);
        v.extend_from_slice(&salt);
        v.extend_from_slice(&self.key_check);
        v.put_zeros(28);
        let crc = crc32c(&v);
        v.put_u32(crc);
        let mut out = [0u8; HEADER_LEN];
        out.copy_from_slice(&v);
        out
    }

    /// Parses and validates a header; checks magic, version, checksum, limits and that every
    /// required feature is within `supported` (pass [`RequiredFeatures::KNOWN`] for all of v1).
    pub fn parse(buf: &[u8], supported: u64) -> Result<Header> {
        let mut c = Cursor::new(buf, "header");
        if c.array::<8>()? != MAGIC {
            return Err(Error::BadMagic { what: "header" });
        }
        let version = c.u16()?;
        if !crate::is_known_version(version) {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        let header_len = c.u16()?;
        if header_len as usize != HEADER_LEN {
            return Err(Error::Invalid {
                what: "header_len",
                value: header_len as u64,
            });
        }
        let all = Cursor::new(buf, "header").take(HEADER_LEN)?;
        let stored = u32::from_le_bytes([all[124], all[125], all[126], all[127]]);
        let computed = crc32c(&all[..124]);
        if stored != computed {
            return Err(Error::Checksum {
                what: "header",
                stored,
                computed,
            });
        }
        let block_size = c.u32()?;
        if !(limits::MIN_BLOCK_SIZE..=limits::MAX_BLOCK_SIZE).contains(&block_size)
            || !block_size.is_power_of_two()
        {
            return Err(Error::Invalid {
                what: "block_size",
                value: block_size as u64,
            });
        }
        let required = RequiredFeatures(c.u64()?);
        required.check_supported(supported & RequiredFeatures::KNOWN)?;
        let optional = OptionalFeatures(c.u64()?);
        let archive_id = c.array::<16>()?;
        let cipher = match c.u8()? {
            0 => Cipher::None,
            1 => Cipher::Aes256Gcm,
            v => {
                return Err(Error::Invalid {
                    what: "cipher",
                    value: v as u64,
                })
            }
        };
        let kdf_id = c.u8()?;
        c.reserved(2)?;
        let (m_cost, t_cost, parallelism) = (c.u32()?, c.u32()?, c.u32()?);
        let salt = c.array::<16>()?;
        let key_check = c.array::<16>()?;
        c.reserved(28)?;
        let kdf = match kdf_id {
            0 => Kdf::None,
            1 => {
                check_kdf_limits(m_cost, t_cost, parallelism)?;
                Kdf::Argon2id {
                    m_cost,
                    t_cost,
                    parallelism,
                    salt,
                }
            }
            2 => Kdf::RawKey,
            v => {
                return Err(Error::Invalid {
                    what: "kdf",
                    value: v as u64,
                })
            }
        };
        if kdf_id != 1 && (m_cost | t_cost | parallelism != 0 || salt != [0; 16]) {
            return Err(Error::Reserved {
                what: "header kdf parameters",
            });
        }
        let encrypted = required.has(RequiredFeatures::ENCRYPTED);
        if encrypted != (cipher != Cipher::None) || encrypted != (kdf != Kdf::None) {
            return Err(Error::Inconsistent(
                "cipher, kdf and the ENCRYPTED feature bit disagree".into(),
            ));
        }
        if !encrypted && key_check != [0; 16] {
            return Err(Error::Reserved {
                what: "header key_check",
            });
        }
        Ok(Header {
            version,
            block_size,
            required,
            optional,
            archive_id,
            cipher,
            kdf,
            key_check,
        })
    }
}

/// The Argon2id limits of `docs/FORMAT.md` §12, checked whenever a header is parsed (not only
/// when a passphrase is tried), so no tool shows or acts on a header beyond them.
fn check_kdf_limits(m: u32, t: u32, p: u32) -> Result<()> {
    let limit = |what, value: u32, limit: u32| Error::Limit {
        what,
        value: value as u64,
        limit: limit as u64,
    };
    if !(1..=limits::MAX_KDF_PARALLELISM).contains(&p) {
        return Err(limit("kdf_parallelism", p, limits::MAX_KDF_PARALLELISM));
    }
    if !(1..=limits::MAX_KDF_T_COST).contains(&t) {
        return Err(limit("kdf_t_cost", t, limits::MAX_KDF_T_COST));
    }
    if m > limits::MAX_KDF_M_COST {
        return Err(limit("kdf_m_cost", m, limits::MAX_KDF_M_COST));
    }
    if m < 8 * p {
        return Err(Error::Invalid {
            what: "kdf_m_cost",
            value: m as u64,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            version: VERSION,
            block_size: 65536,
            required: RequiredFeatures(RequiredFeatures::ZSTD),
            optional: OptionalFeatures(OptionalFeatures::DEDUP),
            archive_id: [7; 16],
            cipher: Cipher::None,
            kdf: Kdf::None,
            key_check: [0; 16],
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        assert_eq!(Header::parse(&h.encode(), RequiredFeatures::KNOWN), Ok(h));
    }

    #[test]
    fn rejects_each_flipped_byte() {
        let bytes = sample().encode();
        for i in 0..HEADER_LEN {
            let mut b = bytes;
            b[i] ^= 0x40;
            assert!(
                Header::parse(&b, RequiredFeatures::KNOWN).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn future_version_and_unknown_feature() {
        let mut b = sample().encode();
        b[8] = 3;
        let crc = crc32c(&b[..124]);
        b[124..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            Header::parse(&b, RequiredFeatures::KNOWN),
            Err(Error::UnsupportedVersion {
                found: 3,
                supported: 2
            })
        );
        // Both versions this crate knows read back as written.
        for version in [1, 2] {
            let h = Header {
                version,
                ..sample()
            };
            assert_eq!(Header::parse(&h.encode(), RequiredFeatures::KNOWN), Ok(h));
        }
        let mut h = sample();
        h.required = RequiredFeatures(1 << 9);
        assert_eq!(
            Header::parse(&h.encode(), RequiredFeatures::KNOWN),
            Err(Error::UnknownFeature { bit: 9 })
        );
    }
}
