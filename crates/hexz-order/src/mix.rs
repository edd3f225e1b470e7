//! The 64-bit mixer every order is built on, and how keys are derived from `(seed, epoch, ...)`.
//!
//! Both are part of the order's definition (docs/FORMAT.md does not cover orders; this module
//! and the golden tests do): they must never change.

/// SplitMix64's finalizer: a bijective mix of 64 bits with full avalanche.
#[must_use]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The golden ratio increment of SplitMix64, which separates successive inputs.
pub const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// A key for one use of a permutation: the seed, then each of `parts` (epoch, purpose, group)
/// folded in with a mix, so keys of different parts are unrelated.
#[must_use]
pub fn derive_key(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix64(seed ^ GAMMA), |h, &p| {
        mix64(h ^ mix64(p.wrapping_add(GAMMA)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_every_part() {
        let base = derive_key(0, &[0, 1]);
        assert_ne!(base, derive_key(1, &[0, 1]));
        assert_ne!(base, derive_key(0, &[1, 1]));
        assert_ne!(base, derive_key(0, &[0, 2]));
        assert_ne!(derive_key(0, &[0, 1]), derive_key(0, &[1, 0]));
    }
}
