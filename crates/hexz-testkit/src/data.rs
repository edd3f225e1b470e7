//! Deterministic test data, all built on [`Rng`]: the same bytes for the same arguments on
//! every run.

use crate::Rng;

/// `len` bytes that do not compress: [`Rng::new(seed)`](Rng::new)`.bytes(len)`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(len)
}

/// Compressible text of `len` bytes: numbered lines.
pub fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(
            format!("line {i}: the quick brown fox jumps over hexz\n").as_bytes(),
        );
        i += 1;
    }
    out.truncate(len);
    out
}

/// 64 KiB runs of [`noise`], [`text`] and zero bytes, in turn.
pub fn mixed(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while out.len() < len {
        let n = (len - out.len()).min(64 * 1024);
        match i % 3 {
            0 => out.extend(noise(n, seed + i)),
            1 => out.extend(text(n)),
            _ => out.resize(out.len() + n, 0),
        }
        i += 1;
    }
    out
}

/// `len` bytes mixing zero runs, short repeating patterns, text-like bytes and noise, in runs
/// of random length (up to 40,000 bytes), so that every codec path (hole, compressed, stored
/// raw) is taken.
pub fn mixed_data(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let run = (rng.range(1, 40_000) as usize).min(len - out.len());
        match rng.below(4) {
            0 => out.resize(out.len() + run, 0),
            1 => {
                let plen = rng.range(1, 17) as usize;
                let pat = rng.bytes(plen);
                out.extend(pat.iter().cycle().take(run));
            }
            2 => out.extend((0..run).map(|_| b"etaoin shrdlu\n"[rng.below(14) as usize])),
            _ => {
                let n = out.len();
                out.resize(n + run, 0);
                rng.fill(&mut out[n..]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{mixed, mixed_data, noise, text};

    #[test]
    fn the_same_arguments_give_the_same_bytes() {
        assert_eq!(noise(1000, 5), noise(1000, 5));
        assert_ne!(noise(1000, 5), noise(1000, 6));
        assert_eq!(noise(13, 5), noise(1000, 5)[..13]);
        assert_eq!(mixed(200_000, 7), mixed(200_000, 7));
        assert_eq!(mixed_data(3, 100_000), mixed_data(3, 100_000));
        assert!(text(100).starts_with(b"line 0: "));
        for len in [0, 1, 7, 64 * 1024 + 1] {
            assert_eq!(noise(len, 1).len(), len);
            assert_eq!(text(len).len(), len);
            assert_eq!(mixed(len, 1).len(), len);
            assert_eq!(mixed_data(1, len).len(), len);
        }
    }
}
