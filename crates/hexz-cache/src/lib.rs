//! A bounded local disk cache for remote Hexz archives.
//!
//! [`CachedStore`] wraps a remote [`hexz_core::ReadAt`] (S3, HTTP) and keeps the aligned
//! chunks it reads ([`DEFAULT_CHUNK_SIZE`], 8 MiB) as files in a cache directory, so a second
//! pass over an archive (the next training epoch, another job) reads local files instead of
//! the network. [`wrap`] puts one in front of any store that can be cached.
//!
//! - [`options`]: [`CacheOptions`] (directory, byte limit, chunk size) and [`default_dir`].
//! - [`layout`]: the files and their names, the archive key (URL, ETag and length hashed),
//!   atomic writes.
//! - [`chunk`]: one chunk file, its header and per-page crc32c checked on every read.
//! - [`store`]: [`CachedStore`], the `ReadAt`: hits, misses, refetching damaged chunks.
//! - [`scan`], [`evict`]: walking the cache's own files; least-recently-used eviction.
//! - [`inventory`]: listing, totals and clearing, for `hexz cache`.
//! - [`Error`]: the one error type.
//!
//! Invariants: cached bytes are returned only after their crc32c matched; a chunk file
//! appears under its name only whole (written to a temporary name and renamed); the cache
//! touches only its own files under its own subdirectory; an object replaced in its store has
//! a new key, so its old chunks are never served for it.

#![forbid(unsafe_code)]

pub mod chunk;
mod error;
pub mod evict;
pub mod inventory;
pub mod layout;
pub mod options;
pub mod scan;
pub mod store;

pub use error::Error;
pub use options::{default_dir, CacheOptions, DEFAULT_CHUNK_SIZE, DEFAULT_LIMIT, DIR_ENV};
pub use store::{CachedStore, Stats};

use hexz_core::ReadAt;
use std::sync::Arc;

/// `inner` with a cache in front when it can be cached (it has an
/// [`identity`](ReadAt::identity): a remote object with a strong ETag), else `inner` itself.
pub fn wrap(inner: Arc<dyn ReadAt>, opts: &CacheOptions) -> Result<Arc<dyn ReadAt>, Error> {
    if inner.identity().is_none() {
        return Ok(inner);
    }
    Ok(Arc::new(CachedStore::open(inner, opts)?))
}
