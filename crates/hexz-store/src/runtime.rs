//! The per-process tokio runtime the stores block on: the core's API is synchronous, and
//! `object_store` is async.

use std::future::Future;
use std::sync::atomic::{AtomicPtr, Ordering};
use tokio::runtime::Runtime;

/// The crate's shared runtime: two worker threads, started on first use.
pub(crate) fn runtime() -> &'static Runtime {
    // (pid, runtime). A forked child (a DataLoader worker) must not use its parent's runtime:
    // the worker threads do not exist in the child, and the epoll instance and wake-up eventfd
    // are shared with the parent, so using them hangs the child and can hang the parent. The
    // child builds its own; the parent's is leaked there, never dropped or touched.
    static RT: AtomicPtr<(u32, Runtime)> = AtomicPtr::new(std::ptr::null_mut());
    let pid = std::process::id();
    loop {
        let cur = RT.load(Ordering::Acquire);
        if !cur.is_null() {
            // SAFETY: a published pointer is never freed.
            let (p, rt) = unsafe { &*cur };
            if *p == pid {
                return rt;
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hexz-store")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("hexz-store: cannot start the tokio runtime: {e}"));
        let new = Box::into_raw(Box::new((pid, rt)));
        match RT.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: just published; never freed.
            Ok(_) => return unsafe { &(*new).1 },
            // SAFETY: `new` was never published.
            Err(_) => drop(unsafe { Box::from_raw(new) }),
        }
    }
}

/// Runs `fut` to completion on the crate's runtime, from sync code. Called from inside another
/// tokio runtime, it blocks a helper thread instead so that runtime does not panic.
pub(crate) fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(|| runtime().block_on(fut))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        runtime().block_on(fut)
    }
}
