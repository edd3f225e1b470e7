//! Background read-ahead: threads that decode upcoming blocks into the cache.

use crate::archive::Inner;
use crossbeam_channel::{bounded, Sender, TrySendError};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::{Arc, Weak};

/// Decodes requested blocks on a few threads. Threads hold only a weak reference to the
/// archive and exit when it is dropped.
///
/// A job is a run of up to `run` consecutive blocks, fetched with one coalesced read and
/// decoded by one thread: one block per job on local storage (decoding is the cost, spread it
/// over the threads), many on a remote store (each request is a round trip: fewer, larger).
pub(crate) struct Prefetcher {
    tx: Sender<Range<u64>>,
    in_flight: Arc<Mutex<HashSet<u64>>>,
    archive: Weak<Inner>,
    run: u64,
}

impl Prefetcher {
    pub(crate) fn new(archive: Weak<Inner>, threads: usize, run: u64) -> Prefetcher {
        let (tx, rx) = bounded::<Range<u64>>(1024);
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        for i in 0..threads {
            let (rx, weak, in_flight) = (rx.clone(), archive.clone(), in_flight.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("hexz-readahead-{i}"))
                .spawn(move || {
                    while let Ok(run) = rx.recv() {
                        let Some(inner) = weak.upgrade() else { break };
                        // Errors surface when the reader itself reaches the block.
                        let _ = inner.load_run(run.clone());
                        let mut in_flight = in_flight.lock();
                        for idx in run {
                            in_flight.remove(&idx);
                        }
                    }
                });
            if spawned.is_err() {
                break; // Read-ahead is an optimisation; without threads reads still work.
            }
        }
        Prefetcher {
            tx,
            in_flight,
            archive,
            run: run.max(1),
        }
    }

    /// Queues blocks `range` that are neither cached nor already queued, in runs; drops
    /// requests when saturated.
    pub(crate) fn request(&self, range: Range<u64>) {
        let Some(inner) = self.archive.upgrade() else {
            return;
        };
        let mut pending: Option<Range<u64>> = None;
        for idx in range {
            let wanted = !inner.blocks.contains(&idx) && self.in_flight.lock().insert(idx);
            if let Some(run) = &mut pending {
                if wanted && run.end == idx && run.end - run.start < self.run {
                    run.end += 1;
                    continue;
                }
                let run = pending.take().unwrap_or_default();
                if !self.send(run) {
                    if wanted {
                        self.in_flight.lock().remove(&idx);
                    }
                    return;
                }
            }
            if wanted {
                pending = Some(idx..idx + 1);
            }
        }
        if let Some(run) = pending {
            self.send(run);
        }
    }

    /// Queues `run`; when the queue is full, forgets it and returns false.
    fn send(&self, run: Range<u64>) -> bool {
        match self.tx.try_send(run) {
            Ok(()) => true,
            Err(TrySendError::Full(run) | TrySendError::Disconnected(run)) => {
                let mut in_flight = self.in_flight.lock();
                for idx in run {
                    in_flight.remove(&idx);
                }
                false
            }
        }
    }
}
