//! The one seeded PRNG of the tests and benches.
//!
//! SplitMix64, written out here rather than taken from a crate, because golden fixtures depend
//! on its exact sequence: `tests/fixtures/v1/` holds archives whose contents are
//! `Rng::new(seed).bytes(n)` (see `crates/hexz-core/tests/golden/`, `encryption/golden.rs` and
//! `signing.rs`), and their checks recompute those bytes. A crate's generator may change its
//! output between versions; this one never does.

/// SplitMix64: a tiny deterministic generator, stable across dependency upgrades and
/// platforms. Not for cryptography.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n > 0`; a modulo, so very slightly biased for huge `n`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// In `lo..hi` (`lo < hi`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }

    /// True once in `one_in` calls, on average.
    pub fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    /// Fills `buf` with the little-endian bytes of successive outputs.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// `n` bytes, as [`Rng::fill`] writes them.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The sequence golden fixtures were built from: it must never change.
    #[test]
    fn sequence_is_splitmix64() {
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
        let mut r = Rng::new(0x601d);
        let b = r.bytes(12);
        let mut r2 = Rng::new(0x601d);
        let (x, y) = (r2.next_u64().to_le_bytes(), r2.next_u64().to_le_bytes());
        assert_eq!(b, [&x[..], &y[..4]].concat());
    }
}
