//! One block: fetching its stored bytes, checking them (crc32c, the AES-GCM tag when
//! encrypted, the content hash when hashes are verified), decoding them and caching the
//! result. Every read path goes through [`ArchiveState::decode_block`] or
//! [`ArchiveState::check_block`], so every block a reader gets was checked the same way.

use super::read::{coalesce, stored_in};
use super::ArchiveState;
use crate::codec::decode_into;
use crate::crypt::content_hash;
use crate::prefetch::{BlockSource, InFlight};
use crate::{Action, Error, Part, Place, Result};
use hexz_format::{BlockEntry, Codec};
use std::ops::Range;
use std::sync::Arc;

/// What names a decoded block in the cache: where its stored bytes are and everything that
/// decides how they decode. Blocks deduplicated to the same stored bytes share one entry, so
/// a repeated block is fetched and decoded once; entries that only claim the same offset
/// but differ in any other way do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey {
    parent: Option<u8>,
    stored_offset: u64,
    stored_len: u32,
    raw_len: u32,
    codec: Codec,
    crc: u32,
    hash: [u8; 32],
}

impl BlockKey {
    pub(crate) fn of(e: &BlockEntry) -> BlockKey {
        BlockKey {
            parent: e.parent,
            stored_offset: e.stored_offset,
            stored_len: e.stored_len,
            raw_len: e.raw_len,
            codec: e.codec,
            crc: e.crc,
            hash: e.hash,
        }
    }
}

impl ArchiveState {
    /// The decoded bytes of block `idx`, from the cache or storage.
    pub(crate) fn load_block(&self, idx: u64, e: &BlockEntry) -> Result<Arc<[u8]>> {
        if let Some(b) = self.blocks.get(&BlockKey::of(e)) {
            return Ok(b);
        }
        let b = if e.parent.is_some() {
            self.parent_block(idx, e)?
        } else if e.codec == Codec::Zero {
            zeroed_shared(e.raw_len as usize)
        } else {
            let mut stored = vec![0u8; e.stored_len as usize];
            self.fetch_block(idx, e, &mut stored)?;
            self.decode_shared(idx, e, &stored)?
        };
        self.blocks.insert(BlockKey::of(e), b.clone());
        Ok(b)
    }

    /// Reads block `idx`'s stored bytes into `dst` (`e.stored_len` bytes), unchecked.
    pub(super) fn fetch_block(&self, idx: u64, e: &BlockEntry, dst: &mut [u8]) -> Result<()> {
        self.store
            .read_exact_at(e.stored_offset, dst)
            .map_err(|err| Error::io(Action::Read, self.block_place(idx, e), err))
    }

    /// Checks a block stored raw (stored bytes = raw bytes).
    pub(crate) fn check_block(&self, idx: u64, e: &BlockEntry, bytes: &[u8]) -> Result<()> {
        self.check_crc(idx, e, bytes)?;
        if self.verify_hashes {
            self.check_hash(idx, e, content_hash(self.crypt.as_ref(), bytes))?;
        }
        Ok(())
    }

    /// Decodes block `idx` from its `stored` bytes into `out` (its raw length) for a reader:
    /// counted in the stats, and its content hash checked when hashes are verified.
    pub(crate) fn decode_block(
        &self,
        idx: u64,
        e: &BlockEntry,
        stored: &[u8],
        out: &mut [u8],
    ) -> Result<()> {
        self.check_crc(idx, e, stored)?;
        self.stats.decoded(e.raw_len);
        self.decode(idx, e, stored, out)?;
        if self.verify_hashes {
            self.check_hash(idx, e, content_hash(self.crypt.as_ref(), out))?;
        }
        Ok(())
    }

    /// Decodes block `idx` into a new buffer that the cache and readers share, checking it as
    /// [`Self::decode_block`] does. Decoding straight into the shared allocation saves a copy.
    pub(super) fn decode_shared(
        &self,
        idx: u64,
        e: &BlockEntry,
        stored: &[u8],
    ) -> Result<Arc<[u8]>> {
        let mut out = zeroed_shared(e.raw_len as usize);
        let dst = Arc::get_mut(&mut out).expect("a new Arc has no other owner");
        self.decode_block(idx, e, stored, dst)?;
        Ok(out)
    }

    /// Reads block `idx` and checks everything about it: crc32c, decoded length and content
    /// hash, whatever `verify_hashes` says. Holes cost no read and no hashing. Not counted in
    /// the read stats: this is no reader's read.
    pub(crate) fn verify_block(&self, idx: u64, e: &BlockEntry) -> Result<()> {
        if e.parent.is_some() {
            return self.verify_parent_block(idx, e);
        }
        let hash = if e.codec == Codec::Zero {
            self.zero_hash(e.raw_len)
        } else {
            let mut stored = vec![0u8; e.stored_len as usize];
            self.fetch_block(idx, e, &mut stored)?;
            self.check_crc(idx, e, &stored)?;
            let mut raw = vec![0u8; e.raw_len as usize];
            self.decode(idx, e, &stored, &mut raw)?;
            content_hash(self.crypt.as_ref(), &raw)
        };
        self.check_hash(idx, e, hash)
    }

    /// Decrypts (checking the tag) and decompresses `stored`, whose crc32c the caller
    /// checked, into `out` (the block's raw length). The content hash is the caller's too.
    fn decode(&self, idx: u64, e: &BlockEntry, stored: &[u8], out: &mut [u8]) -> Result<()> {
        let what = || self.block_place(idx, e);
        match &self.crypt {
            // Stored raw: decrypt straight into the destination.
            Some(c) if e.codec == Codec::None => c.open_block(e, stored, out, &what),
            Some(c) => {
                // Decrypted, the stored bytes are the compressed bytes, less the tag.
                let n = stored
                    .len()
                    .saturating_sub(hexz_format::limits::AEAD_TAG_LEN as usize);
                let mut plain = vec![0u8; n];
                c.open_block(e, stored, &mut plain, &what)?;
                decode_into(e.codec, &plain, out, &what)
            }
            None => decode_into(e.codec, stored, out, &what),
        }
    }

    fn check_crc(&self, idx: u64, e: &BlockEntry, stored: &[u8]) -> Result<()> {
        let crc = hexz_format::crc32c(stored);
        if crc != e.crc {
            return Err(Error::Integrity {
                place: Box::new(self.block_place(idx, e)),
                detail: format!("crc32c mismatch: {crc:#010x}, index says {:#010x}", e.crc),
            });
        }
        Ok(())
    }

    /// Compares a block's content hash (of its raw bytes) with the index's.
    pub(super) fn check_hash(&self, idx: u64, e: &BlockEntry, hash: [u8; 32]) -> Result<()> {
        if hash != e.hash {
            return Err(Error::Integrity {
                place: Box::new(self.block_place(idx, e)),
                detail: "content hash mismatch".into(),
            });
        }
        Ok(())
    }

    /// The content hash of `len` zero bytes (keyed when encrypted), computed once per length:
    /// holes cost nothing to verify.
    fn zero_hash(&self, len: u32) -> [u8; 32] {
        if let Some(h) = self.zero_hashes.lock().get(&len) {
            return *h;
        }
        let h = content_hash(self.crypt.as_ref(), &vec![0u8; len as usize]);
        self.zero_hashes.lock().insert(len, h);
        h
    }

    pub(super) fn block_place(&self, idx: u64, e: &BlockEntry) -> Place {
        self.place(Part::Block {
            index: idx,
            logical_offset: e.logical_offset,
        })
    }
}

/// Read-ahead decodes blocks through this: the archive's side of [`crate::prefetch`].
impl BlockSource for ArchiveState {
    fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    fn fetch_cost(&self, idx: u64) -> Option<u64> {
        match self.block_entry(idx) {
            Ok(e) if self.blocks.contains(&BlockKey::of(&e)) => None,
            Ok(e) if e.parent.is_some() => Some(u64::from(e.raw_len)),
            Ok(e) => Some(u64::from(e.stored_len)),
            Err(_) => Some(0),
        }
    }

    /// Decodes blocks `run` into the cache, fetching their stored bytes with as few reads as
    /// [`coalesce`] allows. Holes and cached blocks are skipped.
    fn load_run(&self, run: Range<u64>) -> Result<()> {
        let mut todo = Vec::new();
        for idx in run {
            let e = self.block_entry(idx)?;
            if e.codec != Codec::Zero && !self.blocks.contains(&BlockKey::of(&e)) {
                todo.push((idx, e));
            }
        }
        // Blocks of a parent are read from it, in runs contiguous in the parent.
        let parents: Vec<(u64, BlockEntry)> =
            todo.extract_if(.., |(_, e)| e.parent.is_some()).collect();
        self.parent_runs(&parents, |k, raw| {
            self.blocks
                .insert(BlockKey::of(&parents[k].1), Arc::from(raw));
            Ok(())
        })?;
        if let [(idx, e)] = todo.as_slice() {
            return self.load_block(*idx, e).map(drop);
        }
        let ranges = coalesce(
            todo.iter()
                .map(|(_, e)| (e.stored_offset, e.stored_len as u64)),
        );
        let reqs: Vec<(u64, usize)> = ranges.iter().map(|&(o, l)| (o, l as usize)).collect();
        let bufs = self.store.read_ranges(&reqs).map_err(|err| {
            let first = todo.first().map_or(0, |(_, e)| e.logical_offset);
            let part = Part::Blocks {
                logical_offset: first,
            };
            Error::io(Action::Read, self.place(part), err)
        })?;
        for (idx, e) in todo {
            let out = self.decode_shared(idx, &e, stored_in(&ranges, &bufs, &e))?;
            self.blocks.insert(BlockKey::of(&e), out);
        }
        Ok(())
    }
}

/// A zero-filled shared buffer of `len` bytes, allocated once (no copy from a `Vec`).
fn zeroed_shared(len: usize) -> Arc<[u8]> {
    let mut buf = Arc::<[u8]>::new_uninit_slice(len);
    let slots = Arc::get_mut(&mut buf).expect("a new Arc has no other owner");
    slots.fill(std::mem::MaybeUninit::new(0));
    // SAFETY: every byte was initialised just above.
    unsafe { buf.assume_init() }
}
