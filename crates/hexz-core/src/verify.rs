//! Full verification: every frame's checksum and hash, every block's checksum and content hash.
//! An encrypted archive (opened with its key) is also authenticated with AES-GCM, frame by
//! frame and block by block, and its content hashes are the keyed ones.

use crate::archive::Archive;
use crate::Result;
use hexz_format::{FrameKind, FrameRef};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// What [`verify`] found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Frames checked (tables, pages, metadata).
    pub frames: u64,
    /// Blocks checked.
    pub blocks: u64,
    /// Logical bytes checked.
    pub bytes: u64,
    /// One line per problem; empty when the archive is intact.
    pub problems: Vec<String>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads and checks every frame and block of `archive`. `progress` receives logical bytes
/// checked so far. Errors reading storage are returned; corruption is reported in the report.
pub fn verify(archive: &Archive, progress: &(dyn Fn(u64) + Sync)) -> Result<VerifyReport> {
    let inner = archive.inner();
    let s = archive.summary();
    let mut report = VerifyReport::default();
    let mut frames: Vec<(FrameRef, FrameKind, String)> = Vec::new();
    for (f, kind) in [
        (s.entries, FrameKind::Entries),
        (s.metadata, FrameKind::Metadata),
        (s.record_groups, FrameKind::RecordGroups),
        (s.parents, FrameKind::Parents),
    ] {
        if !f.is_absent() {
            frames.push((f, kind, kind.name().to_string()));
        }
    }
    for (i, p) in s.index_pages.iter().enumerate() {
        frames.push((p.frame, FrameKind::IndexPage, format!("index page {i}")));
    }
    for (i, p) in s.record_pages.iter().enumerate() {
        frames.push((p.frame, FrameKind::RecordPage, format!("record page {i}")));
    }
    for (f, _, name) in &frames {
        report.frames += 1;
        let mut stored = vec![0u8; f.stored_len as usize];
        if let Err(e) = inner.store.read_exact_at(f.offset, &mut stored) {
            report.problems.push(format!("{name}: cannot read: {e}"));
            continue;
        }
        if *blake3::hash(&stored).as_bytes() != f.hash {
            report
                .problems
                .push(format!("{name}: hash mismatch (offset {})", f.offset));
        }
    }
    if let Err(e) = archive.entries() {
        report.problems.push(e.to_string());
    }
    if let Err(e) = archive.record_groups() {
        report.problems.push(e.to_string());
    }
    if let Err(e) = archive.metadata() {
        report.problems.push(e.to_string());
    }
    for i in 0..s.record_count.div_ceil(s.records_per_page.max(1) as u64) {
        if let Err(e) = archive.record(i * s.records_per_page as u64) {
            report.problems.push(e.to_string());
        }
    }

    let done = AtomicU64::new(0);
    for p in 0..s.index_pages.len() as u32 {
        let page = match inner.page(p) {
            Ok(pg) => pg,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        let per = s.entries_per_page as u64;
        let check = |(i, e): (usize, &hexz_format::BlockEntry)| {
            let res = inner.verify_block(p as u64 * per + i as u64, e);
            progress(done.fetch_add(e.raw_len as u64, Ordering::Relaxed) + e.raw_len as u64);
            res.err().map(|err| err.to_string())
        };
        let mut problems: Vec<String> = if crate::fork::parallel_ok() {
            page.0.par_iter().enumerate().filter_map(check).collect()
        } else {
            page.0.iter().enumerate().filter_map(check).collect()
        };
        report.blocks += page.0.len() as u64;
        report.problems.append(&mut problems);
    }
    report.bytes = done.load(Ordering::Relaxed);
    Ok(report)
}
