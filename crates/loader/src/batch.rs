//! Batches of samples: one native call gathers a DataLoader batch into one buffer (views of
//! the memory map where blocks are stored raw), optionally on a background thread so the next
//! batch is read while Python consumes this one.

use crate::chunk::Chunk;
use hexz_core::{Archive, Placed};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;

/// A gathered batch as Python receives it: the buffer, each sample's `(start, length)` (in
/// the buffer, or in the memory map for the positions listed in `mapped`), and those
/// positions (usually none, or all).
pub type Gathered = (Chunk, Vec<(usize, usize)>, Vec<usize>);

/// Reads records `indices` (by number) as one batch; with `views`, samples in raw blocks of
/// a mapped archive are left in the map ([`Archive::read_gather_into`]).
pub fn gather_records(
    archive: &Archive,
    indices: &[u64],
    views: bool,
) -> hexz_core::Result<Gathered> {
    let ranges = indices
        .iter()
        .map(|&i| archive.record(i).map(|r| (r.offset, r.length as usize)))
        .collect::<hexz_core::Result<Vec<_>>>()?;
    gather_ranges(archive, &ranges, views)
}

/// Reads `(offset, length)` ranges of the logical stream as one batch.
pub fn gather_ranges(
    archive: &Archive,
    ranges: &[(u64, usize)],
    views: bool,
) -> hexz_core::Result<Gathered> {
    let room = ranges.iter().map(|r| r.1).sum();
    let (buf, placed) = archive.read_gather_into(ranges, crate::buffers::take(room), views)?;
    let mut spans = Vec::with_capacity(ranges.len());
    let mut mapped = Vec::new();
    for (k, (p, &(_, len))) in placed.iter().zip(ranges).enumerate() {
        match *p {
            Placed::Buffer(start) => spans.push((start, len)),
            Placed::Mapped(at) => {
                spans.push((at, len));
                mapped.push(k);
            }
        }
    }
    Ok((Chunk::owned(buf), spans, mapped))
}

/// What a background read leaves for [`PendingBatch::wait`].
type Slot = Mutex<Option<hexz_core::Result<Gathered>>>;

/// A batch being read in the background, by this process's reader thread.
pub struct PendingBatch {
    state: Arc<(Slot, Condvar)>,
}

impl PendingBatch {
    /// Queues a read of records `indices` of `archive`.
    pub fn spawn(
        archive: Arc<Archive>,
        indices: Vec<u64>,
        views: bool,
    ) -> std::io::Result<PendingBatch> {
        let state: Arc<(Slot, Condvar)> = Arc::new((Mutex::new(None), Condvar::new()));
        let done = state.clone();
        reader_thread::run(Box::new(move || {
            let result = gather_records(&archive, &indices, views);
            *done.0.lock() = Some(result);
            done.1.notify_all();
        }))?;
        Ok(PendingBatch { state })
    }

    /// Waits for the batch; the result can be taken once.
    pub fn wait(&self) -> Option<hexz_core::Result<Gathered>> {
        let (slot, cv) = &*self.state;
        let mut guard = slot.lock();
        // The thread holds the other reference until it has stored its result; a timed wait
        // notices a thread that died without storing one.
        while guard.is_none() && Arc::strong_count(&self.state) > 1 {
            cv.wait_for(&mut guard, std::time::Duration::from_millis(50));
        }
        guard.take()
    }
}

/// One long-lived thread per process that runs queued batch reads in order: no thread is
/// started per batch. A forked child (a DataLoader worker) inherits the channel but not the
/// thread, so the thread is keyed by process id and started anew in a child.
mod reader_thread {
    use parking_lot::Mutex;
    use std::sync::mpsc::{channel, Sender};

    type Job = Box<dyn FnOnce() + Send>;

    static READER: Mutex<Option<(u32, Sender<Job>)>> = Mutex::new(None);

    /// Queues `job` on this process's reader thread, starting the thread if needed.
    pub fn run(job: Job) -> std::io::Result<()> {
        let pid = std::process::id();
        let mut reader = READER.lock();
        let job = match &*reader {
            Some((owner, tx)) if *owner == pid => match tx.send(job) {
                Ok(()) => return Ok(()),
                Err(e) => e.0, // The thread is gone: start another.
            },
            _ => job,
        };
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("hexz-batch".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            })?;
        tx.send(job)
            .map_err(|_| std::io::Error::other("reader thread stopped"))?;
        *reader = Some((pid, tx));
        Ok(())
    }
}
