//! Thin archives (`docs/FORMAT.md` §8): the parents an archive's `PARENT` blocks live in,
//! opened with it and checked against its parents table (archive id and root hash), and the
//! reads of those blocks from the parent's logical stream.

use super::frame::{decode_frame, Frame};
use super::held::Held;
use super::{Archive, ArchiveState, ReadOptions};
use crate::crypt::{content_hash, Crypt};
use crate::store::{Pin, ReadAt};
use crate::{Action, Error, Part, Place, Result};
use hexz_format::parent::parse_parents;
use hexz_format::{BlockEntry, FrameKind, Parent, Summary};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Longest chain of thin archives a reader follows (an archive, its parent, theirs, ...).
pub const MAX_CHAIN_DEPTH: u8 = 16;
/// Most bytes one read of a parent fetches for a run of blocks it holds.
const PARENT_RUN_BYTES: u64 = 32 << 20;
/// Most bytes of the parent between two blocks of a run (read and discarded): samples removed
/// or changed between unchanged ones.
const PARENT_GAP_BYTES: u64 = 64 << 10;

/// Blocks of one parent that follow each other in this archive's stream and in the parent's,
/// being gathered by the read planner: their bytes are one read of the parent.
pub(super) struct SpanPlan {
    first: (u64, BlockEntry),
    /// This archive's logical offset of the span's first byte.
    logical: u64,
    /// The parent's logical offsets of the span's first byte and of the byte after its last.
    from: u64,
    end: u64,
    blocks: u64,
    raw_bytes: u64,
}

impl SpanPlan {
    /// A span of `take` bytes of `PARENT` block `idx`, from `skip` bytes into it.
    pub(super) fn new(idx: u64, e: BlockEntry, skip: usize, take: usize) -> SpanPlan {
        // Offsets come from the file: saturating, so a crafted one fails the parent's read
        // (past its end) rather than wrapping.
        let from = e.stored_offset.saturating_add(skip as u64);
        SpanPlan {
            first: (idx, e),
            logical: e.logical_offset + skip as u64,
            from,
            end: from.saturating_add(take as u64),
            blocks: 1,
            raw_bytes: e.raw_len as u64,
        }
    }

    /// Adds block `idx` (`take` bytes from its start) when it continues the span in both
    /// streams; says whether it did.
    pub(super) fn extend(&mut self, idx: u64, e: &BlockEntry, take: usize) -> bool {
        let follows = e.parent == self.first.1.parent
            && idx == self.first.0 + self.blocks
            && e.stored_offset == self.end
            && self.end - self.from < PARENT_RUN_BYTES;
        if follows {
            self.end = self.end.saturating_add(take as u64);
            self.blocks += 1;
            self.raw_bytes += e.raw_len as u64;
        }
        follows
    }

    /// How many bytes of the caller's buffer the span fills.
    pub(super) fn len(&self) -> usize {
        (self.end - self.from) as usize
    }

    /// The span, given the part of the caller's buffer it fills (`self.len()` bytes).
    pub(super) fn into_span(self, dst: &mut [u8]) -> ParentSpan<'_> {
        ParentSpan { plan: self, dst }
    }
}

/// A [`SpanPlan`] with the part of the caller's buffer it fills.
pub(super) struct ParentSpan<'a> {
    plan: SpanPlan,
    dst: &'a mut [u8],
}

/// Opens a parent of a thin archive from its location (a path or URL, already resolved
/// against the child's, or the override the caller gave), with the options to open it with
/// and, when another process opened it before, the remote object's pin: the CLI and Python
/// pass one that opens `s3://` and `http(s)://` too; without one, parents are local files.
#[derive(Clone)]
pub struct ParentOpener(pub Arc<OpenFn>);

/// What a [`ParentOpener`] calls: the parent's location, the options to open it with, and
/// the pin of the object another process opened there ([`crate::Reopen::pin`]), if any.
pub type OpenFn = dyn Fn(&str, ReadOptions, Option<&Pin>) -> Result<Archive> + Send + Sync;

impl std::fmt::Debug for ParentOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParentOpener")
    }
}

/// A parent as the child's table names it, and the archive opened for it.
pub(crate) struct OpenParent {
    pub(crate) row: Parent,
    pub(crate) location: String,
    pub(crate) archive: Archive,
}

/// Where the parent named `hint` lives, for a child at `child`: a URL or absolute path as
/// is; a relative path beside the child (in the same directory, or under the same URL).
pub fn resolve_parent_location(child: &str, hint: &str) -> String {
    if hint.contains("://") || Path::new(hint).is_absolute() {
        return hint.to_string();
    }
    match (child.contains("://"), child.rfind('/')) {
        (true, Some(slash)) => format!("{}{hint}", &child[..=slash]),
        (false, _) => match Path::new(child).parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(hint).display().to_string(),
            _ => hint.to_string(),
        },
        (true, None) => hint.to_string(),
    }
}

/// What opening a thin archive's parents needs of the child being opened.
pub(super) struct Child<'a> {
    pub(super) store: &'a dyn ReadAt,
    pub(super) held: &'a Held,
    pub(super) summary: &'a Summary,
    pub(super) name: &'a str,
    pub(super) crypt: Option<&'a Crypt>,
    pub(super) verify_hashes: bool,
}

/// Reads the parents table of a thin archive and opens each parent: at the caller's override
/// location when given, else at the table's hint resolved against the child's location; each
/// must have the archive id and root hash the table records.
pub(super) fn open_parents(child: Child<'_>, opts: &ReadOptions) -> Result<Vec<OpenParent>> {
    let s = child.summary;
    if s.parent_count == 0 {
        return Err(Error::format(
            Place::whole(child.name),
            hexz_format::Error::Inconsistent("a thin archive without parents".into()),
        ));
    }
    if opts.chain_depth >= MAX_CHAIN_DEPTH {
        return Err(Error::Unsupported(format!(
            "{} is more than {MAX_CHAIN_DEPTH} thin archives deep in a chain",
            child.name
        )));
    }
    let f = &s.parents;
    let part = Part::Frame {
        kind: FrameKind::Parents.name(),
        offset: f.offset,
    };
    let stored = child
        .held
        .read(child.store, f.offset, f.stored_len as usize)
        .map_err(|e| Error::io(Action::Read, Place::new(child.name, part), e))?;
    let frame = Frame {
        f,
        kind: FrameKind::Parents,
        label: FrameKind::Parents.name(),
    };
    let raw = decode_frame(&stored, frame, child.name, child.crypt, child.verify_hashes)?;
    let rows = parse_parents(&raw, s.parent_count)
        .map_err(|e| Error::format(Place::new(child.name, part), e))?;
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let location = match opts.parent_paths.get(i) {
            Some(given) => given.clone(),
            None => resolve_parent_location(child.name, &row.path),
        };
        // Reopened in another process: the parent's metadata and pin come with the child's.
        let reopen = opts.parent_reopen.get(i).cloned().unwrap_or_default();
        let parent_opts = ReadOptions {
            parent_paths: Vec::new(),
            held: reopen.held,
            parent_reopen: reopen.parents,
            chain_depth: opts.chain_depth + 1,
            verify_hashes: child.verify_hashes,
            #[cfg(feature = "signing")]
            verify_key: None,
            ..opts.clone()
        };
        let archive = match &opts.open_parent {
            Some(open) => (open.0)(&location, parent_opts, reopen.pin.as_ref()),
            None => Archive::open_with_options(&location, parent_opts),
        }
        .map_err(|e| match e {
            Error::Io { .. } | Error::ParentMissing(_) => Error::ParentMissing(format!(
                "{} is thin: its parent {} (recorded as {:?}) cannot be opened: {e}; give its \
                 location with --parent-path (Python: parent_path=)",
                child.name, location, row.path
            )),
            e => e,
        })?;
        if archive.header().archive_id != row.archive_id || archive.root_hash() != row.root_hash {
            return Err(Error::ParentMismatch(format!(
                "{} is thin, built on the archive with id {} and root hash {}, but its parent \
                 {} has id {} and root hash {}",
                child.name,
                hex(&row.archive_id),
                hex(&row.root_hash),
                location,
                hex(&archive.header().archive_id),
                hex(&archive.root_hash()),
            )));
        }
        out.push(OpenParent {
            row,
            location,
            archive,
        });
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ArchiveState {
    /// The decoded bytes of `PARENT` block `idx`: its `raw_len` bytes of the parent's logical
    /// stream at `stored_offset`, read (and checked) by the parent; with hashes verified, also
    /// checked against this archive's content hash.
    pub(super) fn parent_block(&self, idx: u64, e: &BlockEntry) -> Result<Arc<[u8]>> {
        let out = self.read_parent(idx, e, e.raw_len as usize)?;
        self.stats.decoded(e.raw_len);
        if self.verify_hashes {
            self.check_hash(idx, e, content_hash(self.crypt.as_ref(), &out))?;
        }
        Ok(out.into())
    }

    /// Reads `PARENT` blocks `blocks` (in logical order) in runs: blocks of one parent that
    /// follow each other in its stream, or nearly, are one read of it (at most
    /// [`PARENT_RUN_BYTES`], gaps of at most [`PARENT_GAP_BYTES`]), so
    /// a sequential read of a thin archive costs the parent's reads, not one per block. Calls
    /// `each(k, raw)` with each block's decoded bytes, checked as [`Self::parent_block`] does.
    pub(super) fn parent_runs(
        &self,
        blocks: &[(u64, BlockEntry)],
        mut each: impl FnMut(usize, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut i = 0;
        while i < blocks.len() {
            let first = &blocks[i].1;
            // Offsets come from the file: saturating, so a crafted one fails the parent's read
            // (past its end) rather than wrapping.
            let mut end = first.stored_offset.saturating_add(first.raw_len as u64);
            let mut j = i + 1;
            // Blocks that follow in the parent, or nearly (a few bytes the child dropped or
            // changed between them, read and discarded), are one read.
            while let Some((idx, e)) = blocks.get(j) {
                let follows = e.parent == first.parent
                    && e.stored_offset >= end
                    && e.stored_offset - end <= PARENT_GAP_BYTES
                    && *idx == blocks[j - 1].0 + 1
                    && e.stored_offset.saturating_add(e.raw_len as u64) - first.stored_offset
                        <= PARENT_RUN_BYTES;
                if !follows {
                    break;
                }
                end = e.stored_offset.saturating_add(e.raw_len as u64);
                j += 1;
            }
            if j == i + 1 {
                let (idx, e) = &blocks[i];
                each(i, &self.parent_block(*idx, e)?)?;
                i = j;
                continue;
            }
            let span =
                self.read_parent(blocks[i].0, first, (end - first.stored_offset) as usize)?;
            for (k, (idx, e)) in blocks.iter().enumerate().take(j).skip(i) {
                let at = (e.stored_offset - first.stored_offset) as usize;
                let raw = &span[at..at + e.raw_len as usize];
                self.stats.decoded(e.raw_len);
                if self.verify_hashes {
                    self.check_hash(*idx, e, content_hash(self.crypt.as_ref(), raw))?;
                }
                each(k, raw)?;
            }
            i = j;
        }
        Ok(())
    }

    /// `len` bytes of the logical stream of the parent `PARENT` block `idx` lives in, from
    /// the block's `stored_offset`.
    fn read_parent(&self, idx: u64, e: &BlockEntry, len: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; len];
        self.read_parent_into(idx, e, e.stored_offset, &mut out)?;
        Ok(out)
    }

    /// Fills `dst` from offset `at` of the logical stream of the parent `PARENT` block `idx`
    /// lives in, through the parent's read path but not its read-ahead (this archive's
    /// read-ahead asks for what it needs). A read past the parent's end is this archive's
    /// fault: its entry points there.
    fn read_parent_into(&self, idx: u64, e: &BlockEntry, at: u64, dst: &mut [u8]) -> Result<()> {
        let i = e.parent.unwrap_or(0) as usize;
        let inconsistent = |why: String| {
            Error::format(
                self.block_place(idx, e),
                hexz_format::Error::Inconsistent(why),
            )
        };
        let parent = self.parents.get(i).ok_or_else(|| {
            inconsistent(format!("block in parent {i} of {}", self.parents.len()))
        })?;
        parent
            .archive
            .state()
            .read_exact(at, dst)
            .map_err(|err| match err {
                Error::OutOfRange(why) => inconsistent(format!("past the parent's end: {why}")),
                err => err,
            })
    }

    /// Reads each span from its parent straight into its buffer, spans in parallel when
    /// there is enough to share out; with hashes verified, checks each block as
    /// [`Self::parent_block`] does.
    pub(super) fn read_parent_spans(&self, spans: &mut [ParentSpan<'_>]) -> Result<()> {
        let total: usize = spans.iter().map(|s| s.dst.len()).sum();
        let read = |s: &mut ParentSpan<'_>| -> Result<()> {
            let p = &s.plan;
            self.read_parent_into(p.first.0, &p.first.1, p.from, s.dst)?;
            self.stats.decoded_many(p.blocks, p.raw_bytes);
            if self.verify_hashes {
                self.check_span(s)?;
            }
            Ok(())
        };
        if spans.len() > 1 && total >= super::read::PARALLEL_BYTES && crate::fork::parallel_ok() {
            spans.par_iter_mut().try_for_each(read)
        } else {
            spans.iter_mut().try_for_each(read)
        }
    }

    /// Checks the content hash of every block of a span read: in place for the blocks it
    /// holds whole, by reading the whole block from the parent for a part of one.
    fn check_span(&self, s: &ParentSpan<'_>) -> Result<()> {
        let p = &s.plan;
        let end = p.logical + s.dst.len() as u64;
        for idx in p.first.0..p.first.0 + p.blocks {
            let e = if idx == p.first.0 {
                p.first.1
            } else {
                self.block_entry(idx)?
            };
            let block_end = e.logical_offset + e.raw_len as u64;
            if e.logical_offset >= p.logical && block_end <= end {
                let at = (e.logical_offset - p.logical) as usize;
                let raw = &s.dst[at..at + e.raw_len as usize];
                self.check_hash(idx, &e, content_hash(self.crypt.as_ref(), raw))?;
            } else {
                self.verify_parent_block(idx, &e)?;
            }
        }
        Ok(())
    }

    /// Checks `PARENT` block `idx` whatever `verify_hashes` says: read from the parent, its
    /// content hash must be this archive's.
    pub(super) fn verify_parent_block(&self, idx: u64, e: &BlockEntry) -> Result<()> {
        let out = self.read_parent(idx, e, e.raw_len as usize)?;
        self.check_hash(idx, e, content_hash(self.crypt.as_ref(), &out))
    }
}

impl Archive {
    /// The parents of a thin archive, in the order of its parents table (empty otherwise):
    /// each as its table records it, where it was opened, and the archive.
    pub fn parents(&self) -> impl Iterator<Item = (&Parent, &str, &Archive)> {
        self.state
            .parents
            .iter()
            .map(|p| (&p.row, p.location.as_str(), &p.archive))
    }
}
