//! Fork safety for the shared rayon pool.
//!
//! A process forked after rayon's global pool started (a PyTorch DataLoader worker, say)
//! inherits the pool's bookkeeping but none of its threads, so handing it work would hang.
//! The pool's owner is the process that first used it; any other process decodes serially.

use std::sync::OnceLock;

static POOL_OWNER: OnceLock<u32> = OnceLock::new();

/// Whether this process may use the rayon global pool.
pub(crate) fn parallel_ok() -> bool {
    *POOL_OWNER.get_or_init(std::process::id) == std::process::id()
}
