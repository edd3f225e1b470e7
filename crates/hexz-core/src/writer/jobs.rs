//! The compression threads: the jobs they are sent (blocks, or bytes to cut into
//! content-defined chunks), what they give back, and the batches small blocks travel in, so
//! that a data set of small records costs one job per batch, not one per record.

use super::thin::ParentIndex;
use super::CdcSizes;
use crate::codec::Compression;
use crate::crypt::{content_hash, Crypt};
use crate::{Action, Error, Place, Result};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use hexz_format::Codec;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Work for a compression thread: its place in the write order, and consecutive parts of a
/// buffer (from `start`, of `parts` lengths; the first at `logical_offset` in the stream),
/// each a block, or with `cut`, each cut into content-defined chunks (a file's last bytes,
/// cut on the compression threads rather than the reading one).
pub(super) struct Job {
    pub(super) seq: u64,
    pub(super) logical_offset: u64,
    pub(super) buf: Arc<Vec<u8>>,
    pub(super) start: usize,
    pub(super) parts: Vec<usize>,
    pub(super) cut: Option<CdcSizes>,
}

impl Job {
    /// A job not yet given its place in the write order (the writer's `queue` does).
    pub(super) fn new(
        buf: Arc<Vec<u8>>,
        start: usize,
        logical_offset: u64,
        parts: Vec<usize>,
        cut: Option<CdcSizes>,
    ) -> Job {
        Job {
            seq: 0,
            logical_offset,
            buf,
            start,
            parts,
            cut,
        }
    }
}

/// A compressed block, waiting for its turn to be written.
pub(super) struct Done {
    pub(super) logical_offset: u64,
    /// Where a thin archive's parent holds the block (nothing stored then).
    pub(super) parent_at: Option<u64>,
    pub(super) raw_len: u32,
    pub(super) codec: Codec,
    pub(super) stored: Vec<u8>,
    pub(super) crc: u32,
    pub(super) hash: [u8; 32],
}

/// The blocks of each job, in order, with the job's place in the write order, as the threads
/// finish them.
pub(super) type Results = Receiver<(u64, Vec<Done>)>;

/// Blocks shorter than this are copied into a [`Batch`] rather than sent alone.
pub(super) const BATCHED_BELOW: usize = 32 << 10;
/// A batch is sent once it holds this many bytes.
const BATCH_BYTES: usize = 1 << 20;

/// Small blocks (or small pieces to cut), consecutive in the stream, gathered into one job.
#[derive(Default)]
pub(super) struct Batch {
    buf: Vec<u8>,
    parts: Vec<usize>,
    logical_offset: u64,
    cut: Option<CdcSizes>,
}

impl Batch {
    /// Whether `bytes` at `logical_offset`, cut as `cut` says, may join this batch: it is
    /// empty, or they follow its last part and are cut the same way.
    pub(super) fn takes(&self, logical_offset: u64, cut: Option<CdcSizes>) -> bool {
        self.parts.is_empty()
            || (self.cut == cut && self.logical_offset + self.buf.len() as u64 == logical_offset)
    }

    /// Adds a part (the caller checked [`Self::takes`]); says whether the batch is full.
    pub(super) fn push(
        &mut self,
        logical_offset: u64,
        bytes: &[u8],
        cut: Option<CdcSizes>,
    ) -> bool {
        if self.parts.is_empty() {
            self.logical_offset = logical_offset;
            self.cut = cut;
        }
        self.buf.extend_from_slice(bytes);
        self.parts.push(bytes.len());
        self.buf.len() >= BATCH_BYTES
    }

    /// The batch as a job, leaving it empty; `None` when it is.
    pub(super) fn take(&mut self) -> Option<Job> {
        if self.parts.is_empty() {
            return None;
        }
        let buf = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH_BYTES));
        let parts = std::mem::take(&mut self.parts);
        Some(Job::new(
            Arc::new(buf),
            0,
            self.logical_offset,
            parts,
            self.cut,
        ))
    }
}

/// The job queue and result channel of `threads` new compression threads, and the threads.
pub(super) fn spawn_compressors(
    threads: usize,
    compression: Compression,
    crypt: Option<&Arc<Crypt>>,
    parent: Option<&Arc<ParentIndex>>,
) -> Result<(Sender<Job>, Results, Vec<JoinHandle<()>>)> {
    let (job_tx, job_rx) = bounded::<Job>(threads * 2);
    let (res_tx, res_rx) = unbounded();
    let workers = (0..threads)
        .map(|i| {
            let (rx, tx) = (job_rx.clone(), res_tx.clone());
            let crypt = crypt.cloned();
            let parent = parent.cloned();
            std::thread::Builder::new()
                .name(format!("hexz-compress-{i}"))
                .spawn(move || {
                    compress_worker(rx, tx, compression, crypt.as_deref(), parent.as_deref())
                })
                .map_err(|e| {
                    Error::io(
                        Action::StartThread,
                        Place::whole(format!("hexz-compress-{i}")),
                        e,
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((job_tx, res_rx, workers))
}

fn compress_worker(
    rx: Receiver<Job>,
    tx: Sender<(u64, Vec<Done>)>,
    compression: Compression,
    crypt: Option<&Crypt>,
    parent: Option<&ParentIndex>,
) {
    let block = |raw: &[u8], logical_offset: u64| -> Done {
        let hash = content_hash(crypt, raw);
        let zero = is_zero(raw);
        // A block the parent holds is not compressed: the child stores nothing of it.
        let parent_at = parent.filter(|_| !zero).and_then(|p| p.find(raw, hash));
        let (codec, stored) = if parent_at.is_some() {
            (Codec::None, Vec::new())
        } else if zero {
            (Codec::Zero, Vec::new())
        } else {
            compression.encode(raw)
        };
        // A sealed block's crc covers its ciphertext: computed once it is sealed.
        let crc = if stored.is_empty() || crypt.is_some() {
            0
        } else {
            hexz_format::crc32c(&stored)
        };
        Done {
            logical_offset,
            parent_at,
            raw_len: raw.len() as u32,
            codec,
            stored,
            crc,
            hash,
        }
    };
    while let Ok(job) = rx.recv() {
        let mut blocks = Vec::with_capacity(job.parts.len());
        let (mut at, mut logical) = (job.start, job.logical_offset);
        for &len in &job.parts {
            let part = &job.buf[at..at + len];
            match job.cut {
                None => blocks.push(block(part, logical)),
                Some(sizes) => {
                    let mut from = 0;
                    for chunk in sizes.cut(part) {
                        blocks.push(block(&part[from..from + chunk], logical + from as u64));
                        from += chunk;
                    }
                }
            }
            at += len;
            logical += len as u64;
        }
        if tx.send((job.seq, blocks)).is_err() {
            return;
        }
    }
}

fn is_zero(b: &[u8]) -> bool {
    let (words, tail) = b.as_chunks::<16>();
    words.iter().all(|w| u128::from_ne_bytes(*w) == 0) && tail.iter().all(|&x| x == 0)
}
