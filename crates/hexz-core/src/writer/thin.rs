//! Writing a thin archive (`docs/FORMAT.md` §8): the parent's blocks by content hash, so that
//! a block the parent holds is referenced (`PARENT`) instead of compressed and stored.

use super::ThinParent;
use crate::crypt::content_hash;
use crate::{Error, Result};
use hexz_format::parent::encode_parents;
use hexz_format::{Codec, Parent};
use std::collections::HashMap;
use std::path::Path;

/// Where a thin archive written to `output` records its parent at `parent` (paths or URLs),
/// for readers to find it: a URL as is; the parent's file name when both are local files in
/// one directory (so the pair can move together); else the parent's absolute path.
pub fn recorded_location(parent: &str, output: &str) -> String {
    if parent.contains("://") {
        return parent.to_string();
    }
    let Ok(base) = std::fs::canonicalize(parent) else {
        return parent.to_string();
    };
    let out_dir = Path::new(output)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let beside =
        !output.contains("://") && std::fs::canonicalize(out_dir).ok().as_deref() == base.parent();
    match (beside, base.file_name().and_then(|n| n.to_str())) {
        (true, Some(name)) => name.to_string(),
        _ => base.display().to_string(),
    }
}

/// The parent's blocks by content hash (the parent's, keyed with its key when encrypted):
/// the first 8 bytes of each distinct hash → the block's index in the parent, 16 bytes a
/// block (a whole hash and place would be 48). A hit is confirmed against the parent's own
/// index entry, whole hash and length; of two blocks whose hashes share their first 8 bytes
/// (about one pair in 2^64 / n² of n blocks) the second is not found, and is stored.
pub(super) struct ParentIndex {
    parent: ThinParent,
    by_prefix: HashMap<u64, u64>,
}

fn prefix(hash: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}

impl ParentIndex {
    /// Reads every index page of the parent. Holes are left out: a hole costs nothing to
    /// store.
    pub(super) fn build(parent: ThinParent, encrypted: bool) -> Result<ParentIndex> {
        if parent.archive.is_encrypted() != encrypted {
            return Err(Error::InvalidInput(format!(
                "a thin archive and its parent {} must both be encrypted, with the same key, or \
                 neither",
                parent.location
            )));
        }
        let mut by_prefix = HashMap::new();
        for (idx, b) in parent.archive.blocks().enumerate() {
            let b = b?;
            if b.codec != Codec::Zero {
                by_prefix.entry(prefix(&b.hash)).or_insert(idx as u64);
            }
        }
        Ok(ParentIndex { parent, by_prefix })
    }

    /// Where the parent holds `raw` (its logical offset there), whose content hash in the
    /// child is `own_hash`.
    pub(super) fn find(&self, raw: &[u8], own_hash: [u8; 32]) -> Option<u64> {
        // Unencrypted, both hash alike; encrypted, the parent's hashes are keyed with its own
        // content-hash key (same master key, its archive id).
        let state = self.parent.archive.state();
        let hash = match state.crypt.as_ref() {
            None => own_hash,
            Some(c) => content_hash(Some(c), raw),
        };
        let idx = *self.by_prefix.get(&prefix(&hash))?;
        // The parent's index page was read to build this map; reading it again is from its
        // cache, or a read that would fail the same way (then: not found, stored here).
        let e = state.block_entry(idx).ok()?;
        (e.hash == hash && e.raw_len as usize == raw.len()).then_some(e.logical_offset)
    }

    /// The parents table: the parent's archive id, root hash and location.
    pub(super) fn table(&self) -> Vec<u8> {
        let a = &self.parent.archive;
        encode_parents(&[Parent {
            archive_id: a.header().archive_id,
            root_hash: a.root_hash(),
            path: self.parent.location.clone(),
        }])
    }
}
