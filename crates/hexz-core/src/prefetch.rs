//! Background read-ahead: threads that decode upcoming blocks into the cache.
//!
//! This module knows the archive only through [`BlockSource`], which the archive implements:
//! the archive uses read-ahead, never the other way round.

use crate::Result;
use crossbeam_channel::{bounded, Sender, TrySendError};
use parking_lot::{Condvar, Mutex};
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Weak;
use std::time::{Duration, Instant};

/// Longest a reader waits for a read-ahead thread to bring a block before fetching it itself.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

/// Blocks that read-ahead threads are fetching. A reader that needs one waits for it rather
/// than fetching it a second time, which on a remote store would double the traffic.
#[derive(Default)]
pub(crate) struct InFlight {
    blocks: Mutex<HashSet<u64>>,
    done: Condvar,
}

impl InFlight {
    /// Marks `idx` as being fetched; false when it already is.
    fn claim(&self, idx: u64) -> bool {
        self.blocks.lock().insert(idx)
    }

    /// Marks `run` as no longer being fetched and wakes waiting readers.
    fn release(&self, run: Range<u64>) {
        let mut blocks = self.blocks.lock();
        for idx in run {
            blocks.remove(&idx);
        }
        drop(blocks);
        self.done.notify_all();
    }

    /// Waits until none of `wanted` is being fetched (or [`WAIT_LIMIT`] passes). Returns
    /// whether it waited at all.
    pub(crate) fn wait_for(&self, wanted: impl Iterator<Item = u64> + Clone) -> bool {
        let mut blocks = self.blocks.lock();
        if blocks.is_empty() {
            return false; // The common case (no read-ahead running): no allocation, no clock.
        }
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut waited = false;
        while wanted.clone().any(|i| blocks.contains(&i)) {
            waited = true;
            if self.done.wait_until(&mut blocks, deadline).timed_out() {
                break;
            }
        }
        waited
    }
}

/// What read-ahead needs of an archive: which blocks are worth fetching, and a way to fetch
/// and decode a run of them into its cache.
pub(crate) trait BlockSource: Send + Sync {
    /// The blocks being fetched now, shared with the archive's readers.
    fn in_flight(&self) -> &InFlight;
    /// Stored bytes to fetch for block `idx` (0 when unknown), or `None` when it is decoded
    /// in the cache already.
    fn fetch_cost(&self, idx: u64) -> Option<u64>;
    /// Fetches blocks `run` with as few reads as possible and decodes them into the cache.
    fn load_run(&self, run: Range<u64>) -> Result<()>;
}

/// Releases a job's blocks when the job ends, also by a panic, so no reader waits forever.
struct Release<'a>(&'a InFlight, Range<u64>);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.release(self.1.clone());
    }
}

/// Decodes requested blocks on a few threads. Threads hold only a weak reference to the
/// archive and exit when it is dropped.
///
/// A job is a run of consecutive blocks of up to `run_bytes` stored bytes, fetched with one
/// coalesced read and decoded by one thread: one block per job on local storage (decoding is
/// the cost, spread it over the threads), many on a remote store (each request is a round
/// trip: fewer, larger; sized by stored bytes, so compressible data still gets big requests).
pub(crate) struct Prefetcher {
    tx: Sender<Range<u64>>,
    archive: Weak<dyn BlockSource>,
    /// Most stored bytes one job fetches (0: one block per job).
    run_bytes: u64,
}

impl Prefetcher {
    pub(crate) fn new(
        archive: Weak<dyn BlockSource>,
        threads: usize,
        run_bytes: u64,
    ) -> Prefetcher {
        let (tx, rx) = bounded::<Range<u64>>(1024);
        for i in 0..threads {
            let (rx, weak) = (rx.clone(), archive.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("hexz-readahead-{i}"))
                .spawn(move || {
                    while let Ok(run) = rx.recv() {
                        let Some(source) = weak.upgrade() else { break };
                        let _release = Release(source.in_flight(), run.clone());
                        // Errors surface when the reader itself reaches the block.
                        let _ = source.load_run(run);
                    }
                });
            if spawned.is_err() {
                break; // Read-ahead is an optimisation; without threads reads still work.
            }
        }
        Prefetcher {
            tx,
            archive,
            run_bytes,
        }
    }

    /// Queues blocks `range` that are neither cached nor already queued, in runs; drops
    /// requests when saturated.
    pub(crate) fn request(&self, range: Range<u64>) {
        let Some(source) = self.archive.upgrade() else {
            return;
        };
        let mut pending: Option<Range<u64>> = None;
        let mut pending_bytes = 0u64;
        for idx in range {
            let cost = source.fetch_cost(idx);
            let stored = cost.unwrap_or(0);
            let wanted = cost.is_some() && source.in_flight().claim(idx);
            if let Some(run) = &mut pending {
                if wanted && run.end == idx && pending_bytes + stored <= self.run_bytes {
                    run.end += 1;
                    pending_bytes += stored;
                    continue;
                }
                let run = pending.take().unwrap_or_default();
                if !self.send(&*source, run) {
                    if wanted {
                        source.in_flight().release(idx..idx + 1);
                    }
                    return;
                }
            }
            if wanted {
                pending = Some(idx..idx + 1);
                pending_bytes = stored;
            }
        }
        if let Some(run) = pending {
            self.send(&*source, run);
        }
    }

    /// Queues `run`; when the queue is full, forgets it and returns false.
    fn send(&self, source: &dyn BlockSource, run: Range<u64>) -> bool {
        match self.tx.try_send(run) {
            Ok(()) => true,
            Err(TrySendError::Full(run) | TrySendError::Disconnected(run)) => {
                source.in_flight().release(run);
                false
            }
        }
    }
}
