//! Keeping a cache directory within its byte limit: least recently used chunks go first.

use crate::scan::{scan, ChunkEntry};
use crate::Error;
use std::path::Path;

/// What one [`enforce`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Chunk files removed.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bytes of chunk files left.
    pub remaining: u64,
}

/// Removes the least recently used chunk files (oldest mtime first) of the cache in `dir`
/// until their total is at most `limit` bytes, and dead writers' temporary files. Only the
/// cache's own chunk files count and only they are removed. Processes sharing `dir` may run
/// this at the same time: a file already gone is skipped.
pub fn enforce(dir: &Path, limit: u64) -> Result<Evicted, Error> {
    let mut chunks: Vec<ChunkEntry> = scan(dir)?.into_iter().flat_map(|a| a.chunks).collect();
    let mut total: u64 = chunks.iter().map(|c| c.bytes).sum();
    let mut done = Evicted::default();
    if total > limit {
        chunks.sort_by_key(|c| c.used);
        for c in chunks {
            if total <= limit {
                break;
            }
            total -= c.bytes;
            if std::fs::remove_file(&c.path).is_ok() {
                done.files += 1;
                done.bytes += c.bytes;
            }
        }
    }
    done.remaining = total;
    Ok(done)
}
