//! Block and frame codec ids (`docs/FORMAT.md` §5).

use crate::{Error, Result};

/// How the stored bytes of a block or frame encode its raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Stored raw.
    None,
    /// LZ4 block format.
    Lz4,
    /// One Zstandard frame.
    Zstd,
    /// All zeros; nothing stored.
    Zero,
}

impl Codec {
    /// The on-disk id.
    pub fn id(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Lz4 => 1,
            Codec::Zstd => 2,
            Codec::Zero => 3,
        }
    }

    /// Parses an on-disk id.
    pub fn from_id(id: u8) -> Result<Codec> {
        Ok(match id {
            0 => Codec::None,
            1 => Codec::Lz4,
            2 => Codec::Zstd,
            3 => Codec::Zero,
            _ => {
                return Err(Error::Invalid {
                    what: "codec",
                    value: id as u64,
                })
            }
        })
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
            Codec::Zero => "zero",
        }
    }
}
