//! What `hexz cache ls`, `du` and `clear` show and do.

use crate::layout;
use crate::scan::{scan, ArchiveEntry};
use crate::Error;
use std::path::Path;

/// The archives cached in `dir`, most recently used first.
pub fn list(dir: &Path) -> Result<Vec<ArchiveEntry>, Error> {
    let mut all = scan(dir)?;
    all.sort_by(|a, b| b.last_used().cmp(&a.last_used()).then(a.key.cmp(&b.key)));
    Ok(all)
}

/// Totals of a cache directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Archives with a directory in the cache.
    pub archives: u64,
    /// Chunk files.
    pub chunks: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The totals of the cache in `dir`.
pub fn usage(dir: &Path) -> Result<Usage, Error> {
    let all = scan(dir)?;
    Ok(Usage {
        archives: all.len() as u64,
        chunks: all.iter().map(|a| a.chunks.len() as u64).sum(),
        bytes: all.iter().map(ArchiveEntry::bytes).sum(),
    })
}

/// Whether `which` names `archive`: its URL exactly, or a prefix of its key of at least 4
/// digits.
pub fn matches(archive: &ArchiveEntry, which: &str) -> bool {
    archive.meta.as_ref().is_some_and(|m| m.url == which)
        || (which.len() >= 4 && archive.key.starts_with(which))
}

/// Removes the cached archives of `dir` that `which` names ([`matches`]), or all of them.
/// Removes only the cache's own files; a directory holding anything else is kept, and so is
/// the cache's root when it is not empty. Returns what was removed (the archives as listed
/// before).
pub fn clear(dir: &Path, which: Option<&str>) -> Result<Vec<ArchiveEntry>, Error> {
    let mut removed = Vec::new();
    for archive in scan(dir)? {
        if which.is_some_and(|w| !matches(&archive, w)) {
            continue;
        }
        let files = std::fs::read_dir(&archive.path).map_err(|e| Error::io(&archive.path, e))?;
        for file in files.flatten() {
            let name = file.file_name();
            let Some(name) = name.to_str() else { continue };
            let own = layout::chunk_index(name).is_some()
                || layout::is_temp(name)
                || name == layout::META;
            if own && file.file_type().is_ok_and(|t| t.is_file()) {
                match std::fs::remove_file(file.path()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(file.path(), e)),
                }
            }
        }
        let _ = std::fs::remove_dir(&archive.path);
        removed.push(archive);
    }
    if which.is_none() {
        let _ = std::fs::remove_dir(layout::root(dir));
    }
    Ok(removed)
}
