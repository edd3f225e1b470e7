//! Where the cache lives and how big it may grow.

use crate::Error;
use std::path::PathBuf;

/// Default bound on the bytes of cached chunks in one cache directory: 10 GiB.
pub const DEFAULT_LIMIT: u64 = 10 << 30;

/// Default chunk size: 8 MiB, the low end of AWS's guidance for ranged GETs (8–16 MiB), and
/// twice the core's largest read-ahead run, so a run rarely needs more than two chunks.
pub const DEFAULT_CHUNK_SIZE: u64 = 8 << 20;

/// The environment variable naming a cache directory (used by the CLI).
pub const DIR_ENV: &str = "HEXZ_CACHE_DIR";

/// Settings of a [`crate::CachedStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheOptions {
    /// The cache directory. The cache keeps everything under its own subdirectory
    /// ([`crate::layout::ROOT`]) there and never touches anything else in it.
    pub dir: PathBuf,
    /// At most this many bytes of chunk files in `dir` ([`DEFAULT_LIMIT`]). Checked after
    /// every limit/16 bytes a process writes, so it may be passed by that much per writing
    /// process until the next check; the least recently used chunks go first.
    pub limit: u64,
    /// Objects are cached in aligned chunks of this many bytes ([`DEFAULT_CHUNK_SIZE`]); the
    /// last chunk is shorter. Part of the cache key: handles with different chunk sizes do not
    /// share chunks.
    pub chunk_size: u64,
}

impl CacheOptions {
    /// Options for `dir` with the default limit and chunk size.
    pub fn new(dir: impl Into<PathBuf>) -> CacheOptions {
        CacheOptions {
            dir: dir.into(),
            limit: DEFAULT_LIMIT,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Sets [`CacheOptions::limit`].
    pub fn limit(mut self, bytes: u64) -> CacheOptions {
        self.limit = bytes;
        self
    }

    /// Sets [`CacheOptions::chunk_size`].
    pub fn chunk_size(mut self, bytes: u64) -> CacheOptions {
        self.chunk_size = bytes;
        self
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.limit == 0 {
            return Err(Error::InvalidOption("the cache limit must be > 0".into()));
        }
        // A chunk is held in memory while it is fetched and its page table is u32-indexed.
        if !(crate::chunk::PAGE..=1 << 30).contains(&self.chunk_size) {
            return Err(Error::InvalidOption(format!(
                "the chunk size must be {} bytes to 1 GiB, not {}",
                crate::chunk::PAGE,
                self.chunk_size
            )));
        }
        Ok(())
    }
}

/// The default cache directory: `$XDG_CACHE_HOME/hexz/remote`, else `~/.cache/hexz/remote`
/// (`%LOCALAPPDATA%\hexz\remote` on Windows); `None` when there is no home directory.
pub fn default_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        nonempty("LOCALAPPDATA")?
    } else if let Some(xdg) = nonempty("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        xdg
    } else {
        nonempty("HOME")?.join(".cache")
    };
    Some(base.join("hexz").join("remote"))
}
