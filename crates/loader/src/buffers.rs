//! Batch buffers kept for reuse.
//!
//! A batch of 64 samples of 10 KB is a 640 KB buffer, freed when Python drops the batch. The
//! C library returns such buffers to the system when they are freed (they lie at the top of
//! its arena, or are mapped on their own), so every new batch faulted in and zeroed fresh
//! pages (335,000 page faults in four warm shuffled epochs of 200,000 samples, 96,000 with
//! reuse; 10% of the CPU time). Keeping a few freed buffers for the next batches avoids that;
//! they are few and small, so the memory kept is a few MiB.

use parking_lot::Mutex;

/// Buffers kept at most.
const KEEP: usize = 8;
/// Larger buffers are not kept.
const LARGEST: usize = 16 << 20;

static FREE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// An empty buffer with room for at least `len` bytes: the smallest kept one large enough,
/// or a new one with an eighth to spare (batches vary a little in size).
pub(crate) fn take(len: usize) -> Vec<u8> {
    let reused = {
        let mut free = FREE.lock();
        free.iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)
            .map(|i| free.swap_remove(i))
    };
    match reused {
        Some(mut buf) => {
            buf.clear();
            buf
        }
        None => Vec::with_capacity(len.saturating_add(len / 8)),
    }
}

/// Keeps `buf` for a later [`take`], unless enough are kept or it is too large.
pub(crate) fn give(buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > LARGEST {
        return;
    }
    let mut free = FREE.lock();
    if free.len() < KEEP {
        free.push(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_is_taken_again() {
        let mut buf = take(100_000);
        assert!(buf.capacity() >= 100_000);
        buf.resize(100_000, 7);
        let at = buf.as_ptr();
        give(buf);
        let again = take(90_000);
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty());
        give(again);
        // Too large to keep, and too large for the kept one.
        give(Vec::with_capacity(LARGEST + 1));
        assert!(take(LARGEST + 1).capacity() > LARGEST);
    }
}
