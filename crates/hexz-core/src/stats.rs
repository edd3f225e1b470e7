//! Read counters: what reads returned and what they cost in decoded bytes, so read
//! amplification (bytes decoded ÷ bytes returned) can be measured rather than guessed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The live counters of one open archive (relaxed atomics: totals, not a consistent cut).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    blocks_decoded: AtomicU64,
    bytes_decoded: AtomicU64,
    bytes_returned: AtomicU64,
    bytes_mapped: AtomicU64,
    /// `bytes_mapped` when the map's pages were last released ([`Counters::release_due`]).
    mapped_at_release: AtomicU64,
}

impl Counters {
    /// A block of `raw_len` bytes was decoded (or, stored raw, read and checked).
    pub(crate) fn decoded(&self, raw_len: u32) {
        self.blocks_decoded.fetch_add(1, Relaxed);
        self.bytes_decoded.fetch_add(raw_len as u64, Relaxed);
    }

    /// `blocks` blocks of `bytes` raw bytes in all were decoded.
    pub(crate) fn decoded_many(&self, blocks: u64, bytes: u64) {
        self.blocks_decoded.fetch_add(blocks, Relaxed);
        self.bytes_decoded.fetch_add(bytes, Relaxed);
    }

    /// `n` bytes were handed to a caller.
    pub(crate) fn returned(&self, n: usize) {
        self.bytes_returned.fetch_add(n as u64, Relaxed);
    }

    /// `n` bytes were handed to a caller as a view of the memory map (no decode, no copy).
    pub(crate) fn mapped(&self, n: usize) {
        self.bytes_mapped.fetch_add(n as u64, Relaxed);
        self.returned(n);
    }

    /// Whether `every` bytes were served from the map since the last time this returned true
    /// (true for one caller only).
    pub(crate) fn release_due(&self, every: u64) -> bool {
        let now = self.bytes_mapped.load(Relaxed);
        let last = self.mapped_at_release.load(Relaxed);
        now.saturating_sub(last) >= every
            && self
                .mapped_at_release
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
    }

    pub(crate) fn snapshot(&self) -> ReadStats {
        ReadStats {
            blocks_decoded: self.blocks_decoded.load(Relaxed),
            bytes_decoded: self.bytes_decoded.load(Relaxed),
            bytes_returned: self.bytes_returned.load(Relaxed),
            bytes_mapped: self.bytes_mapped.load(Relaxed),
        }
    }
}

/// What an archive's reads have cost since it was opened ([`crate::Archive::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Blocks decoded (read-ahead included); blocks served from the cache or the map are not.
    pub blocks_decoded: u64,
    /// Their decoded bytes.
    pub bytes_decoded: u64,
    /// Bytes returned to callers (views of the map included).
    pub bytes_returned: u64,
    /// Of those, bytes returned as views of the memory map, neither decoded nor copied.
    pub bytes_mapped: u64,
}

impl ReadStats {
    /// Bytes decoded per byte returned (0 before any read).
    pub fn amplification(&self) -> f64 {
        if self.bytes_returned == 0 {
            0.0
        } else {
            self.bytes_decoded as f64 / self.bytes_returned as f64
        }
    }
}
