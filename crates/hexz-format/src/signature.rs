//! The signature block of signed archives (`docs/FORMAT.md` §10).

use crate::bytes::{Cursor, Put};
use crate::{Error, Result};

/// Magic bytes of the signature block.
pub const SIGNATURE_MAGIC: [u8; 8] = *b"HXZSIG01";
/// Encoded length of the signature block.
pub const SIGNATURE_LEN: usize = 144;
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
    /// Encodes the 144-byte block.
    pub fn encode(&self) -> [u8; SIGNATURE_LEN] {
        let mut v = Vec::with_capacity(SIGNATURE_LEN);
        v.extend_from_slice(&SIGNATURE_MAGIC);
        v.put_u8(1);
        v.put_zeros(7);
        v.extend_from_slice(&self.public_key);
        v.extend_from_slice(&self.root_hash);
        v.extend_from_slice(&self.signature);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(&v);
        out
    }

    /// Parses the 144-byte block.
    pub fn parse(buf: &[u8]) -> Result<Signature> {
        let mut c = Cursor::new(buf, "signature");
        if c.array::<8>()? != SIGNATURE_MAGIC {
            return Err(Error::BadMagic { what: "signature" });
        }
        let alg = c.u8()?;
        if alg != 1 {
            return Err(Error::Invalid {
                what: "signature algorithm",
                value: alg as u64,
            });
        }
        c.reserved(7)?;
        Ok(Signature {
            public_key: c.array()?,
            root_hash: c.array()?,
            signature: c.array()?,
        })
    }

    /// The message that is signed for `root_hash`.
    pub fn message(root_hash: &[u8; 32]) -> Vec<u8> {
        [SIGNED_MESSAGE_PREFIX, root_hash].concat()
    }
}
