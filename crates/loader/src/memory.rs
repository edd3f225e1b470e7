//! Handing freed memory back to the system.

/// Returns the allocator's free memory to the system, where the allocator keeps it otherwise.
///
/// glibc keeps memory that threads freed in its per-thread arenas, fragmented, and gives
/// back only what lies at the top of an arena: after the read-ahead threads of a remote epoch
/// have come and gone, hundreds of MiB stay resident that nothing uses. `malloc_trim` releases
/// every free page of every arena (glibc 2.8 and later). Other C libraries return memory on
/// their own or offer no such call; there this does nothing.
pub(crate) fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only releases pages the allocator holds free;
    // it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
