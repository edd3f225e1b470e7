//! Ctrl-C (SIGINT), SIGTERM and SIGHUP while packing: the signal only sets a flag; the pack's
//! reads and writes see it and fail, so the writer is dropped and its temporary file deleted
//! (or, for an `s3://` output, its multipart upload aborted).
//! A second signal takes the default action (the handler resets itself).

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a termination signal arrived since [`install`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

#[cfg(unix)]
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

#[cfg(unix)]
extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the one-shot handler. Without `SA_RESTART`, a blocking read (stdin) returns
/// `EINTR` so the reader can notice the flag.
#[cfg(unix)]
pub fn install() {
    for sig in SIGNALS {
        // SAFETY: `sa` is fully initialised (zeroed, then the fields we set); the handler only
        // performs an atomic store, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Installs the one-shot handler (no-op where signals are not Unix signals).
#[cfg(not(unix))]
pub fn install() {}

/// Runs `f` with the termination signals blocked in this thread, so that threads spawned by `f`
/// inherit the mask and the signal is delivered to the calling (reading) thread.
#[cfg(unix)]
pub fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
    let mut set = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(sig);
    }
    let mut old = SigSet::empty();
    // Changes only this thread's mask; restored below.
    let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).is_ok();
    let out = f();
    if blocked {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
    out
}

/// Runs `f` (no signal masks where signals are not Unix signals).
#[cfg(not(unix))]
pub fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// The error reads and writes return once interrupted. Not `ErrorKind::Interrupted`: callers
/// retry that one.
pub fn error() -> std::io::Error {
    std::io::Error::other("interrupted by a signal")
}
