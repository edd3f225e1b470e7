//! Background read-ahead: threads that decode upcoming blocks into the cache.

use crate::archive::Inner;
use crossbeam_channel::{bounded, Sender, TrySendError};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::{Arc, Weak};

/// Decodes requested blocks on a few threads. Threads hold only a weak reference to the
/// archive and exit when it is dropped.
pub(crate) struct Prefetcher {
    tx: Sender<u64>,
    in_flight: Arc<Mutex<HashSet<u64>>>,
    archive: Weak<Inner>,
}

impl Prefetcher {
    pub(crate) fn new(archive: Weak<Inner>, threads: usize) -> Prefetcher {
        let (tx, rx) = bounded::<u64>(1024);
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        for i in 0..threads {
            let (rx, weak, in_flight) = (rx.clone(), archive.clone(), in_flight.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("hexz-readahead-{i}"))
                .spawn(move || {
                    while let Ok(idx) = rx.recv() {
                        let Some(inner) = weak.upgrade() else { break };
                        // Errors surface when the reader itself reaches the block.
                        if let Ok(e) = inner.block_entry(idx) {
                            let _ = inner.load_block(idx, &e);
                        }
                        in_flight.lock().remove(&idx);
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
        }
    }

    /// Queues blocks `range` unless cached or already queued; drops requests when saturated.
    pub(crate) fn request(&self, range: Range<u64>) {
        let Some(inner) = self.archive.upgrade() else {
            return;
        };
        for idx in range {
            if inner.blocks.contains(&idx) || !self.in_flight.lock().insert(idx) {
                continue;
            }
            if let Err(TrySendError::Full(idx) | TrySendError::Disconnected(idx)) =
                self.tx.try_send(idx)
            {
                self.in_flight.lock().remove(&idx);
                return;
            }
        }
    }
}
