//! The signature block of signed archives (`docs/FORMAT.md` §10).

use crate::bytes::{Cursor, Put};
use crate::{Error, Result};

/// Magic bytes of the signature block.
pub const SIGNATURE_MAGIC: [u8; 8] = *b"HXZSIG01";
/// Encoded length of an Ed25519 signature block (v1 and v2).
pub const SIGNATURE_LEN: usize = 144;
/// Length of a v2 signature block's own header (magic, algorithm, reserved, length), the
/// least a v2 block can be.
pub const SIGNATURE_V2_MIN_LEN: usize = 16;
/// The one algorithm defined: Ed25519 (RFC 8032).
pub const ALGORITHM_ED25519: u8 = 1;
/// Domain separation prefix of the signed message.
pub const SIGNED_MESSAGE_PREFIX: &[u8] = b"hexz-v1 signature";
/// Domain separation prefix of the root hash input.
pub const ROOT_HASH_PREFIX: &[u8] = b"hexz-v1 root";

/// An Ed25519 signature over an archive's root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Signer's public key.
    pub public_key: [u8; 32],
    /// Root hash that was signed.
    pub root_hash: [u8; 32],
    /// Ed25519 signature bytes.
    pub signature: [u8; 64],
}

impl Signature {
    /// Encodes the 144-byte block of an archive of format `version`: in v2, bytes 12..16
    /// hold the block's length; in v1 they are reserved.
    pub fn encode(&self, version: u16) -> [u8; SIGNATURE_LEN] {
        let mut v = Vec::with_capacity(SIGNATURE_LEN);
        v.extend_from_slice(&SIGNATURE_MAGIC);
        v.put_u8(ALGORITHM_ED25519);
        v.put_zeros(3);
        v.put_u32(if version >= 2 {
            SIGNATURE_LEN as u32
        } else {
            0
        });
        v.extend_from_slice(&self.public_key);
        v.extend_from_slice(&self.root_hash);
        v.extend_from_slice(&self.signature);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&v);
        out
    }

    /// Parses a signature block: `buf` is everything from the block's offset to the footer.
    /// A v2 block of an algorithm this crate does not know is `Ok(None)`: its length still
    /// accounts for its bytes, so the archive reads; only checking it is impossible.
    pub fn parse(buf: &[u8], version: u16) -> Result<Option<Signature>> {
        let mut c = Cursor::new(buf, "signature");
        if c.array::<8>()? != SIGNATURE_MAGIC {
            return Err(Error::BadMagic { what: "signature" });
        }
        let alg = c.u8()?;
        c.reserved(3)?;
        let len = c.u32()?;
        match version {
            1 if len != 0 => return Err(Error::Reserved { what: "signature" }),
            1 => {}
            _ if len as usize != buf.len() => {
                return Err(Error::Invalid {
                    what: "signature block length",
                    value: len as u64,
                })
            }
            _ => {}
        }
        if alg != ALGORITHM_ED25519 {
            if version >= 2 {
                return Ok(None);
            }
            return Err(Error::Invalid {
                what: "signature algorithm",
                value: alg as u64,
            });
        }
        if buf.len() != SIGNATURE_LEN {
            return Err(Error::Invalid {
                what: "signature block length",
                value: buf.len() as u64,
            });
        }
        Ok(Some(Signature {
            public_key: c.array()?,
            root_hash: c.array()?,
            signature: c.array()?,
        }))
    }

    /// The message that is signed for `root_hash`.
    pub fn message(root_hash: &[u8; 32]) -> Vec<u8> {
        [SIGNED_MESSAGE_PREFIX, root_hash].concat()
    }
}
