//! Full verification: every frame's checksum and hash, every block's checksum and content hash,
//! that every byte between the header and the summary belongs to a block or frame, and the
//! signature of a signed archive.
//! An encrypted archive (opened with its key) is also authenticated with AES-GCM, frame by
//! frame and block by block, and its content hashes are the keyed ones.

use crate::archive::Archive;
use crate::Result;
use hexz_format::{FrameKind, FrameRef};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// What [`verify`] found about the signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The archive is not signed.
    #[default]
    Unsigned,
    /// Signed, and the signature verifies under the public key it names. Who holds that key is
    /// for the caller to judge: open with [`crate::ReadOptions`]' `verify_key` to require one.
    Valid {
        /// The signer's public key.
        public_key: [u8; 32],
    },
    /// Signed, but the signature does not verify (also listed in the problems).
    Invalid(String),
    /// Signed, but this build has no `signing` feature to check it.
    Unchecked,
}

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
    /// The signature's state.
    pub signature: SignatureCheck,
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
    let state = archive.state();
    let s = archive.summary();
    let mut report = VerifyReport {
        signature: check_signature(archive),
        ..VerifyReport::default()
    };
    if let SignatureCheck::Invalid(why) = &report.signature {
        report.problems.push(why.clone());
    }
    let mut covered = Coverage::default();
    // Every distinct stored range (16 bytes each), to find ranges that overlap in part (§2).
    let mut ranges: Vec<(u64, u32)> = Vec::new();
    let f = archive.footer();
    covered.add(f.summary_offset, f.summary_stored_len as u64);
    let mut frames: Vec<(FrameRef, FrameKind, String)> =
        s.frames().map(|f| (*f.frame, f.kind, f.label())).collect();
    // Frames found through a directory that cannot be read leave bytes no check covers;
    // those are then not reported one gap at a time.
    let mut all_listed = true;
    match archive.entry_page_frames() {
        Ok(pages) => {
            for (i, f) in pages.into_iter().enumerate() {
                frames.push((f, FrameKind::Extension, format!("entry page {i}")));
            }
        }
        Err(e) => {
            report.problems.push(e.to_string());
            all_listed = false;
        }
    }
    match state.directory_frames() {
        Ok(found) => {
            frames.extend(found.frames);
            all_listed &= found.problems.is_empty();
            report.problems.extend(found.problems);
        }
        Err(e) => {
            report.problems.push(e.to_string());
            all_listed = false;
        }
    }
    for (f, _, name) in &frames {
        report.frames += 1;
        covered.add(f.offset, f.stored_len as u64);
        ranges.push((f.offset, f.stored_len));
        let mut stored = vec![0u8; f.stored_len as usize];
        if let Err(e) = state.store.read_exact_at(f.offset, &mut stored) {
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
    if let Err(e) = archive.file_attrs() {
        report.problems.push(e.to_string());
    }
    for i in 0..s.record_count.div_ceil(s.records_per_page.max(1) as u64) {
        if let Err(e) = archive.record(i * s.records_per_page as u64) {
            report.problems.push(e.to_string());
        }
    }

    let done = AtomicU64::new(0);
    for p in 0..s.index_page_count {
        let page = match state.page(p) {
            Ok(pg) => pg,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        for e in page.entries.iter().filter(|e| e.parent.is_none()) {
            covered.add(e.stored_offset, e.stored_len as u64);
            if e.stored_len > 0 {
                ranges.push((e.stored_offset, e.stored_len));
            }
        }
        let per = s.entries_per_page as u64;
        let check = |(i, e): (usize, &hexz_format::BlockEntry)| {
            let res = state.verify_block(p as u64 * per + i as u64, e);
            progress(done.fetch_add(e.raw_len as u64, Ordering::Relaxed) + e.raw_len as u64);
            res.err().map(|err| err.to_string())
        };
        let mut problems: Vec<String> = if crate::fork::parallel_ok() {
            page.entries
                .par_iter()
                .enumerate()
                .filter_map(check)
                .collect()
        } else {
            page.entries.iter().enumerate().filter_map(check).collect()
        };
        report.blocks += page.entries.len() as u64;
        report.problems.append(&mut problems);
    }
    report.bytes = done.load(Ordering::Relaxed);
    report.problems.extend(partial_overlaps(ranges));
    // A byte no block or frame covers escapes every checksum, hash and the signature.
    let header_len = hexz_format::header::HEADER_LEN as u64;
    let gaps = covered.gaps(header_len, f.summary_offset + f.summary_stored_len as u64);
    if all_listed {
        for (start, end) in gaps {
            report.problems.push(format!(
                "bytes {start}..{end} belong to no block or frame: a change there would go \
                 unnoticed"
            ));
        }
    }
    // A thin archive is only as sound as its chain: each parent is verified in full too.
    for (_, location, parent) in archive.parents() {
        let r = verify(parent, &|_| {})?;
        report.problems.extend(
            r.problems
                .into_iter()
                .map(|p| format!("parent {location}: {p}")),
        );
    }
    // Pages behind one damaged directory frame would each report it: once is enough.
    let mut seen = std::collections::HashSet::new();
    report.problems.retain(|p| seen.insert(p.clone()));
    Ok(report)
}

/// Stored ranges that overlap without being the same (dedup shares a whole range): §2 rules
/// them out, and §9's one nonce per offset relies on it. Frames never share bytes.
fn partial_overlaps(mut ranges: Vec<(u64, u32)>) -> Vec<String> {
    ranges.sort_unstable();
    ranges.dedup();
    let mut out = Vec::new();
    let mut reach: Option<(u64, u64)> = None; // the range reaching furthest so far
    for &(start, len) in &ranges {
        let end = start + len as u64;
        if let Some((s, e)) = reach {
            if start < e {
                out.push(format!(
                    "stored bytes {start}..{end} overlap {s}..{e} without being the same \
                     block (only whole ranges may be shared)"
                ));
            }
        }
        if reach.is_none_or(|(_, e)| end > e) {
            reach = Some((start, end));
        }
    }
    out
}

/// The state of `archive`'s signature, checked against the key it names (cheap: the root hash
/// is computed at open).
pub fn check_signature(archive: &Archive) -> SignatureCheck {
    let Some(sig) = archive.signature() else {
        // Signed (the footer says so), but a v2 block of an algorithm this build does not
        // know: nothing vouches for the archive, which `verify` must not pass silently.
        if archive.footer().signature_offset.is_some() {
            return SignatureCheck::Invalid(format!(
                "{} is signed with an algorithm this build of hexz does not know: its \
                 signature cannot be checked",
                archive.name()
            ));
        }
        return SignatureCheck::Unsigned;
    };
    #[cfg(feature = "signing")]
    {
        match crate::sign::check(sig, &archive.root_hash(), None, archive.name()) {
            Ok(()) => SignatureCheck::Valid {
                public_key: sig.public_key,
            },
            Err(e) => SignatureCheck::Invalid(e.to_string()),
        }
    }
    #[cfg(not(feature = "signing"))]
    {
        let _ = sig;
        SignatureCheck::Unchecked
    }
}

/// Byte ranges of the file known to belong to a block or frame, merged as they are added, so
/// an archive written in order stays a handful of ranges however many blocks it has.
#[derive(Default)]
struct Coverage(BTreeMap<u64, u64>);

impl Coverage {
    fn add(&mut self, offset: u64, len: u64) {
        if len == 0 {
            return;
        }
        let (mut start, mut end) = (offset, offset.saturating_add(len));
        // Merge with the range starting at or before `start`, then with those it reaches.
        if let Some((&s, &e)) = self.0.range(..=start).next_back() {
            if e >= start {
                start = s;
                end = end.max(e);
                self.0.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.0.range(start..).next() {
            if s > end {
                break;
            }
            end = end.max(e);
            self.0.remove(&s);
        }
        self.0.insert(start, end);
    }

    /// The parts of `from..to` not covered.
    fn gaps(&self, from: u64, to: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut pos = from;
        for (&s, &e) in &self.0 {
            if s > pos {
                out.push((pos, s.min(to)));
            }
            pos = pos.max(e);
            if pos >= to {
                break;
            }
        }
        if pos < to {
            out.push((pos, to));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Coverage;

    #[test]
    fn only_whole_ranges_may_be_shared() {
        assert!(super::partial_overlaps(vec![(10, 5), (15, 5), (10, 5), (20, 1)]).is_empty());
        assert_eq!(super::partial_overlaps(vec![(10, 5), (14, 5)]).len(), 1);
        assert_eq!(super::partial_overlaps(vec![(10, 5), (10, 6)]).len(), 1);
        // Inside a long range that is not the one just before.
        assert_eq!(
            super::partial_overlaps(vec![(0, 100), (10, 5), (50, 5)]).len(),
            2
        );
    }

    #[test]
    fn coverage_merges_and_finds_gaps() {
        let mut c = Coverage::default();
        c.add(128, 10);
        c.add(150, 10);
        c.add(138, 5);
        c.add(128, 10); // a deduplicated block: same range again
        c.add(0, 0);
        assert_eq!(c.gaps(128, 200), vec![(143, 150), (160, 200)]);
        c.add(140, 20);
        c.add(160, 40);
        assert_eq!(c.gaps(128, 200), vec![]);
        assert_eq!(c.0.len(), 1);
        assert_eq!(c.gaps(100, 210), vec![(100, 128), (200, 210)]);
    }
}
