//! [`Stats`]: what a proxy has done, counted by its threads without locks.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a [`FaultProxy`](crate::FaultProxy) has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client connections accepted.
    pub connections: u64,
    /// Request heads received (each one once, whatever its fate).
    pub requests: u64,
    /// Requests answered with an injected error status.
    pub errors: u64,
    /// Responses cut off on purpose.
    pub drops: u64,
    /// Requests held for the stall delay.
    pub stalls: u64,
    /// Requests forwarded to the upstream (dropped ones included).
    pub forwarded: u64,
    /// Requests answered 502 or 504 because the upstream could not be reached or failed.
    pub upstream_failures: u64,
    /// Bytes sent to the upstream (request heads and bodies).
    pub bytes_up: u64,
    /// Bytes sent to clients (response heads and bodies, made-up responses included).
    pub bytes_down: u64,
}

/// The live counts behind [`Stats`], bumped by every connection thread.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) drops: AtomicU64,
    pub(crate) stalls: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) upstream_failures: AtomicU64,
    pub(crate) bytes_up: AtomicU64,
    pub(crate) bytes_down: AtomicU64,
}

impl Counters {
    /// The counts as they are now (each one read on its own, not a consistent cut).
    pub(crate) fn snapshot(&self) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            connections: get(&self.connections),
            requests: get(&self.requests),
            errors: get(&self.errors),
            drops: get(&self.drops),
            stalls: get(&self.stalls),
            forwarded: get(&self.forwarded),
            upstream_failures: get(&self.upstream_failures),
            bytes_up: get(&self.bytes_up),
            bytes_down: get(&self.bytes_down),
        }
    }
}

/// Adds one to a counter (relaxed: the counts are statistics, not synchronisation).
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A writer that counts the bytes it passes on.
pub(crate) struct Counted<'a, W> {
    pub(crate) inner: W,
    pub(crate) n: &'a AtomicU64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
