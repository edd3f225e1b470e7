//! Required and optional feature bits (`docs/FORMAT.md` §4).

use crate::{Error, Result};

/// Required feature bits: a reader refuses any it does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequiredFeatures(pub u64);

impl RequiredFeatures {
    /// Blocks and frames are AES-256-GCM sealed.
    pub const ENCRYPTED: u64 = 1 << 0;
    /// Some block or frame uses Zstd.
    pub const ZSTD: u64 = 1 << 1;
    /// Some blocks live in a parent archive.
    pub const THIN: u64 = 1 << 2;
    /// Every bit defined by format v1.
    pub const KNOWN: u64 = Self::ENCRYPTED | Self::ZSTD | Self::THIN;

    /// Whether `bit` is set.
    pub fn has(self, bit: u64) -> bool {
        self.0 & bit != 0
    }

    /// Fails on the lowest set bit that is not in `supported`.
    pub fn check_supported(self, supported: u64) -> Result<()> {
        let unknown = self.0 & !supported;
        if unknown != 0 {
            return Err(Error::UnknownFeature {
                bit: unknown.trailing_zeros(),
            });
        }
        Ok(())
    }

    /// Human-readable names of the set bits.
    pub fn names(self) -> Vec<String> {
        names(
            self.0,
            &[
                (Self::ENCRYPTED, "encrypted"),
                (Self::ZSTD, "zstd"),
                (Self::THIN, "thin"),
            ],
        )
    }
}

/// Optional feature bits: informational.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OptionalFeatures(pub u64);

impl OptionalFeatures {
    /// The writer stored identical blocks once.
    pub const DEDUP: u64 = 1 << 0;
    /// Blocks were cut by content-defined chunking.
    pub const CDC: u64 = 1 << 1;

    /// Whether `bit` is set.
    pub fn has(self, bit: u64) -> bool {
        self.0 & bit != 0
    }

    /// Human-readable names of the set bits.
    pub fn names(self) -> Vec<String> {
        names(self.0, &[(Self::DEDUP, "dedup"), (Self::CDC, "cdc")])
    }
}

fn names(bits: u64, known: &[(u64, &str)]) -> Vec<String> {
    let mut out: Vec<String> = known
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let rest = bits & !known.iter().fold(0, |a, (b, _)| a | b);
    for bit in 0..64 {
        if rest & (1 << bit) != 0 {
            out.push(format!("bit{bit}"));
        }
    }
    out
}
