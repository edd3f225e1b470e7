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

/// The parent's blocks: content hash (the parent's, keyed with its key when encrypted) →
/// logical offset and length in the parent's stream.
pub(super) struct ParentIndex {
    parent: ThinParent,
    by_hash: HashMap<[u8; 32], (u64, u32)>,
}

impl ParentIndex {
    /// Reads every index page of the parent (48 bytes kept per distinct block). Holes are
    /// left out: a hole costs nothing to store.
    pub(super) fn build(parent: ThinParent, encrypted: bool) -> Result<ParentIndex> {
        if parent.archive.is_encrypted() != encrypted {
            return Err(Error::InvalidInput(format!(
                "a thin archive and its parent {} must both be encrypted, with the same key, or \
                 neither",
                parent.location
            )));
        }
        let mut by_hash = HashMap::new();
        for b in parent.archive.blocks() {
            let b = b?;
            if b.codec != Codec::Zero {
                by_hash
                    .entry(b.hash)
                    .or_insert((b.logical_offset, b.raw_len));
            }
        }
        Ok(ParentIndex { parent, by_hash })
    }

    /// Where the parent holds `raw`, whose content hash in the child is `own_hash`.
    pub(super) fn find(&self, raw: &[u8], own_hash: [u8; 32]) -> Option<u64> {
        // Unencrypted, both hash alike; encrypted, the parent's hashes are keyed with its own
        // content-hash key (same master key, its archive id).
        let crypt = self.parent.archive.state().crypt.as_ref();
        let hash = match crypt {
            None => own_hash,
            Some(c) => content_hash(Some(c), raw),
        };
        self.by_hash
            .get(&hash)
            .filter(|&&(_, len)| len as usize == raw.len())
            .map(|&(at, _)| at)
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
