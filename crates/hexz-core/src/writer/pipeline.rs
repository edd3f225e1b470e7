//! The block pipeline: added bytes fill a block; a full (or cut) block goes to the
//! compression threads through a bounded queue; compressed blocks come back in any order and
//! are written in logical order, deduplicated and (when encrypted) sealed, each with an entry
//! in the current index page.

use super::jobs::{Done, Job, BATCHED_BELOW};
use super::{ArchiveWriter, CdcSizes, Chunking};
use crate::{Error, Result};
use hexz_format::{BlockEntry, Codec, FrameKind, PageRef};
use std::io::Read;
use std::sync::Arc;

/// Bytes read from a source at a time.
const READ_BUF_LEN: usize = 1 << 20;

impl ArchiveWriter {
    pub(super) fn append(&mut self, mut data: &[u8]) -> Result<()> {
        self.check_room(data.len())?;
        let (cap, cdc) = self.block_cap();
        while !data.is_empty() {
            let take = (cap - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..take]);
            data = &data[take..];
            self.appended(take, cap, cdc)?;
        }
        if let Some(p) = &mut self.progress {
            p(self.added);
        }
        Ok(())
    }

    /// Reads `reader` to its end through the writer's read buffer (zeroed once: a reader
    /// that cannot read into uninitialised memory would otherwise have each new block buffer
    /// zeroed for it), sending blocks as it fills. A read error is the source's
    /// (`Error::Source` naming `path`).
    pub(super) fn append_from(&mut self, mut reader: impl Read, path: &str) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.read_buf);
        if scratch.is_empty() {
            scratch = vec![0u8; READ_BUF_LEN];
        }
        let result = loop {
            let n = match reader.read(&mut scratch) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(source_error(path, e)),
            };
            if let Err(e) = self.append(&scratch[..n]) {
                break Err(e);
            }
        };
        self.read_buf = scratch;
        result
    }

    /// Reads `file` to its end straight into the block buffer: a file reads into
    /// uninitialised memory, so nothing is zeroed or copied on the way.
    pub(super) fn append_file(&mut self, mut file: std::fs::File, path: &str) -> Result<()> {
        let (cap, cdc) = self.block_cap();
        loop {
            let room = cap - self.block.len();
            let before = self.block.len();
            self.block.reserve_exact(room);
            let read = (&mut file).take(room as u64).read_to_end(&mut self.block);
            let n = self.block.len() - before;
            if let Err(e) = self.check_room(n) {
                self.block.truncate(before);
                return Err(e);
            }
            self.appended(n, cap, cdc)?;
            if let Some(p) = &mut self.progress {
                p(self.added);
            }
            read.map_err(|e| source_error(path, e))?;
            // Fewer bytes than asked for: the file is at its end.
            if n < room {
                return Ok(());
            }
        }
    }

    fn check_room(&self, n: usize) -> Result<()> {
        if self.logical + n as u64 > hexz_format::limits::MAX_LOGICAL_SIZE {
            return Err(Error::InvalidInput(
                "archive would exceed 2^62 bytes".into(),
            ));
        }
        Ok(())
    }

    /// How many bytes the block buffer takes before it is sent or cut, and whether it is cut
    /// by content: content-defined chunks are cut from a buffer of several; records and fixed
    /// blocks fill one block at a time.
    fn block_cap(&self) -> (usize, bool) {
        let cdc = self.cdc_bytes();
        let cap = match (self.opts.chunking, cdc) {
            (Chunking::Cdc(sizes), true) => sizes.buffer_len(),
            (Chunking::Cdc(sizes), false) => sizes.max as usize,
            (Chunking::Fixed, _) => self.opts.block_size as usize,
        };
        (cap, cdc)
    }

    /// Counts `n` bytes just added to the block buffer, sending or cutting it once full.
    fn appended(&mut self, n: usize, cap: usize, cdc: bool) -> Result<()> {
        self.logical += n as u64;
        self.added += n as u64;
        if self.block.len() < cap {
            return Ok(());
        }
        match cdc {
            true => self.cut_chunks(false),
            // A record longer than a block continues in the next one.
            false => self.send_block(),
        }
    }

    /// Before a file's or stream's bytes: with content-defined chunking, a block of records
    /// ends (records are never cut by content, file bytes always are).
    pub(super) fn start_bytes(&mut self) -> Result<()> {
        match self.block_has_records && matches!(self.opts.chunking, Chunking::Cdc(_)) {
            true => self.cut_block(),
            false => Ok(()),
        }
    }

    /// Before a record's bytes: with content-defined chunking, file bytes buffered are cut
    /// first; the block then holds records only.
    pub(super) fn start_record(&mut self) -> Result<()> {
        if !self.block_has_records {
            if matches!(self.opts.chunking, Chunking::Cdc(_)) {
                self.cut_block()?;
            }
            self.block_has_records = true;
        }
        Ok(())
    }

    /// Whether the bytes being added are cut by content (FastCDC): with content-defined
    /// chunking, unless they are records, which are never cut inside.
    fn cdc_bytes(&self) -> bool {
        matches!(self.opts.chunking, Chunking::Cdc(_)) && !self.block_has_records
    }

    /// Sends the bytes not sent yet to the compressors: with content-defined chunking, as the
    /// chunks FastCDC cuts them into; else as one block.
    pub(super) fn cut_block(&mut self) -> Result<()> {
        if self.cdc_bytes() {
            return self.cut_chunks(true);
        }
        self.block_has_records = false;
        self.send_block()
    }

    /// Sends the buffered bytes as one block: a small one joins the batch.
    fn send_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let offset = self.logical - self.block.len() as u64;
        if self.block.len() < BATCHED_BELOW {
            return self.batch_block(offset, None);
        }
        let raw = std::mem::replace(
            &mut self.block,
            Vec::with_capacity(self.opts.block_size as usize),
        );
        let parts = vec![raw.len()];
        self.send(Job::new(Arc::new(raw), 0, offset, parts, None))
    }

    /// Sends the content-defined chunks of the buffer; the last one too when `all` (the data
    /// ends here), else it stays, to be cut again with the bytes that follow.
    fn cut_chunks(&mut self, all: bool) -> Result<()> {
        let Chunking::Cdc(sizes) = self.opts.chunking else {
            return self.send_block();
        };
        if self.block.is_empty() {
            return Ok(());
        }
        let start = self.logical - self.block.len() as u64;
        if all {
            // The data ends here: the compression threads cut it (in parallel with the
            // reading of what follows, and with each other); a small file joins the batch.
            if self.block.len() < BATCHED_BELOW {
                return self.batch_block(start, Some(sizes));
            }
            let raw = std::mem::replace(&mut self.block, Vec::with_capacity(sizes.buffer_len()));
            let parts = vec![raw.len()];
            return self.send(Job::new(Arc::new(raw), 0, start, parts, Some(sizes)));
        }
        // The last chunk stays, to be cut again with the bytes that follow.
        let mut lengths = sizes.cut(&self.block);
        let keep = lengths.pop().unwrap_or(0);
        // The chunks share the buffer (no copy each), sent in jobs of about a batch each;
        // what is left starts the next buffer.
        let buf = Arc::new(std::mem::replace(
            &mut self.block,
            Vec::with_capacity(sizes.buffer_len()),
        ));
        self.block.extend_from_slice(&buf[buf.len() - keep..]);
        let mut at = 0;
        let mut lengths = lengths.into_iter().peekable();
        while lengths.peek().is_some() {
            let mut parts = Vec::new();
            let mut bytes = 0;
            while let Some(len) = lengths.next_if(|_| bytes < BATCHED_BELOW * 32) {
                parts.push(len);
                bytes += len;
            }
            self.send(Job::new(buf.clone(), at, start + at as u64, parts, None))?;
            at += bytes;
        }
        Ok(())
    }

    /// Moves the buffered bytes (at `offset` in the stream) into the batch, sending the
    /// batch first if they cannot join it, and after if it is full. The buffer is kept.
    fn batch_block(&mut self, offset: u64, cut: Option<CdcSizes>) -> Result<()> {
        if !self.batch.takes(offset, cut) {
            self.flush_batch()?;
        }
        let full = self.batch.push(offset, &self.block, cut);
        self.block.clear();
        match full {
            true => self.flush_batch(),
            false => Ok(()),
        }
    }

    /// Sends the batch of small blocks, if any.
    pub(super) fn flush_batch(&mut self) -> Result<()> {
        match self.batch.take() {
            Some(job) => self.queue(job),
            None => Ok(()),
        }
    }

    /// Queues `job` for compression, after the batch (whose bytes come first in the stream).
    fn send(&mut self, job: Job) -> Result<()> {
        self.flush_batch()?;
        self.queue(job)
    }

    /// Queues `job` as it is, giving it its place in the write order.
    fn queue(&mut self, mut job: Job) -> Result<()> {
        job.seq = self.next_seq;
        self.next_seq += 1;
        let tx = self
            .jobs
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("writer already finished".into()))?;
        tx.send(job)
            .map_err(|_| Error::InvalidInput("compression threads stopped".into()))?;
        self.drain(false)
    }

    /// Writes finished blocks in logical order; with `all`, waits for every outstanding block.
    pub(super) fn drain(&mut self, all: bool) -> Result<()> {
        loop {
            while let Some(blocks) = self.reorder.remove(&self.next_emit) {
                for done in blocks {
                    self.emit(done)?;
                }
                self.next_emit += 1;
            }
            if self.next_emit == self.next_seq {
                return Ok(());
            }
            let got = if all {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            match got {
                Some((seq, done)) => {
                    self.reorder.insert(seq, done);
                }
                None if all => {
                    return Err(Error::InvalidInput("compression threads stopped".into()))
                }
                None => return Ok(()),
            }
        }
    }

    fn emit(&mut self, d: Done) -> Result<()> {
        if let Some(at) = d.parent_at {
            self.report.parent_blocks += 1;
            return self.push_block(BlockEntry {
                logical_offset: d.logical_offset,
                stored_offset: at,
                stored_len: 0,
                raw_len: d.raw_len,
                codec: Codec::None,
                parent: Some(0),
                crc: 0,
                hash: d.hash,
            });
        }
        let (stored_offset, stored_len, codec, crc) = if d.codec == Codec::Zero {
            self.report.zero_blocks += 1;
            (0, 0, Codec::Zero, 0)
        } else if let Some(&hit) = self.seen.get(&d.hash).filter(|_| self.opts.dedup) {
            self.report.dedup_blocks += 1;
            hit
        } else {
            let at = self.pos;
            let mut stored = d.stored;
            let mut crc = d.crc;
            if let Some(c) = &self.crypt {
                // Sealed here, where the file offset (the nonce) is known.
                c.seal_block(at, d.raw_len, d.codec, d.hash, &mut stored)?;
                crc = hexz_format::crc32c(&stored);
            }
            self.write(&stored)?;
            let v = (at, stored.len() as u32, d.codec, crc);
            if self.opts.dedup {
                self.seen.insert(d.hash, v);
            }
            self.report.stored_blocks += 1;
            self.stored_bytes += stored.len() as u64;
            v
        };
        self.push_block(BlockEntry {
            logical_offset: d.logical_offset,
            stored_offset,
            stored_len,
            raw_len: d.raw_len,
            codec,
            parent: None,
            crc,
            hash: d.hash,
        })
    }

    /// Adds a block's entry to the index page being filled, writing the page when full.
    fn push_block(&mut self, e: BlockEntry) -> Result<()> {
        self.page.push(e);
        self.block_count += 1;
        if self.page.len() == self.opts.entries_per_page as usize {
            self.flush_index_page()?;
        }
        Ok(())
    }

    pub(super) fn flush_index_page(&mut self) -> Result<()> {
        let mut raw = Vec::with_capacity(self.page.len() * 64);
        for e in &self.page {
            e.put(&mut raw);
        }
        let first = self.page[0].logical_offset;
        self.page.clear();
        let frame = self.write_frame(&raw, FrameKind::IndexPage)?;
        self.index_pages.push(PageRef { frame, first });
        Ok(())
    }
}

fn source_error(path: &str, e: std::io::Error) -> Error {
    Error::Source {
        path: path.into(),
        source: e,
    }
}
