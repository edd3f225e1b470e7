//! [`Permutation`]: a keyed bijection of `0..n`, applied or inverted one element at a time.
//!
//! A balanced Feistel network of [`ROUNDS`] rounds permutes the smallest domain of `2h` bits
//! that holds `n` (so at most 4n elements); an element that lands outside `0..n` is permuted
//! again until it lands inside ("cycle walking"), which keeps the map a bijection of `0..n`
//! and takes under four steps on average. Each round's function is [`mix64`] of the right half
//! and a round key; with a pseudo-random round function, four rounds already give a
//! pseudo-random permutation (Luby–Rackoff), six leave a margin for small domains.

use crate::mix::{mix64, GAMMA};

/// Feistel rounds per step.
pub const ROUNDS: usize = 6;

/// A keyed permutation of `0..n`.
#[derive(Clone, Debug)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    /// The permutation of `0..n` for `key`.
    #[must_use]
    pub fn new(n: u64, key: u64) -> Self {
        // Bits to hold n - 1, rounded up to an even count, at least 2.
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let half_bits = bits.div_ceil(2);
        let mut keys = [0u64; ROUNDS];
        let mut state = key;
        for k in &mut keys {
            state = state.wrapping_add(GAMMA);
            *k = mix64(state);
        }
        Self { n, half_bits, keys }
    }

    /// How many elements it permutes.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether it permutes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Where `i` goes. `i` must be below [`len`](Self::len) (else it is returned unchanged).
    #[must_use]
    pub fn apply(&self, i: u64) -> u64 {
        if i >= self.n || self.n < 2 {
            return i;
        }
        let mut x = self.forward(i);
        while x >= self.n {
            x = self.forward(x);
        }
        x
    }

    /// The element that goes to `j`: `apply(invert(j)) == j`.
    #[must_use]
    pub fn invert(&self, j: u64) -> u64 {
        if j >= self.n || self.n < 2 {
            return j;
        }
        let mut x = self.backward(j);
        while x >= self.n {
            x = self.backward(x);
        }
        x
    }

    fn mask(&self) -> u64 {
        (1u64 << self.half_bits) - 1
    }

    fn round(&self, half: u64, key: u64) -> u64 {
        mix64(half ^ key) & self.mask()
    }

    fn forward(&self, x: u64) -> u64 {
        let mask = self.mask();
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for &k in &self.keys {
            (left, right) = (right, left ^ self.round(right, k));
        }
        (left << self.half_bits) | right
    }

    fn backward(&self, x: u64) -> u64 {
        let mask = self.mask();
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for &k in self.keys.iter().rev() {
            (left, right) = (right ^ self.round(left, k), left);
        }
        (left << self.half_bits) | right
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_bijection_with_its_inverse_for_small_and_odd_sizes() {
        for n in [
            0u64, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 257, 1000, 4097,
        ] {
            for key in [0u64, 1, 0xdead_beef] {
                let p = Permutation::new(n, key);
                let mut seen = vec![false; usize::try_from(n).expect("small n")];
                for i in 0..n {
                    let j = p.apply(i);
                    assert!(j < n, "n={n} key={key}: {i} -> {j}");
                    let slot = &mut seen[usize::try_from(j).expect("small n")];
                    assert!(!*slot, "n={n} key={key}: {j} hit twice");
                    *slot = true;
                    assert_eq!(p.invert(j), i);
                }
            }
        }
    }

    #[test]
    fn works_at_the_top_of_the_range() {
        let n = u64::MAX - 7;
        let p = Permutation::new(n, 42);
        for i in [0, 1, n / 2, n - 1] {
            let j = p.apply(i);
            assert!(j < n);
            assert_eq!(p.invert(j), i);
        }
    }

    #[test]
    fn different_keys_give_different_orders() {
        let a: Vec<u64> = (0..64).map(|i| Permutation::new(64, 1).apply(i)).collect();
        let b: Vec<u64> = (0..64).map(|i| Permutation::new(64, 2).apply(i)).collect();
        assert_ne!(a, b);
    }
}
