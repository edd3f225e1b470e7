//! Walking the cache's own files (and nothing else in the cache directory).

use crate::layout::{self, Meta};
use crate::Error;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One chunk file.
#[derive(Debug, Clone)]
pub struct ChunkEntry {
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes (header included).
    pub bytes: u64,
    /// When it was last used (its mtime).
    pub used: SystemTime,
}

/// One archive's directory.
#[derive(Debug, Clone)]
pub struct ArchiveEntry {
    /// The directory's name, the archive's key.
    pub key: String,
    /// The directory.
    pub path: PathBuf,
    /// What `archive.json` says, when it is readable.
    pub meta: Option<Meta>,
    /// Its chunk files.
    pub chunks: Vec<ChunkEntry>,
}

impl ArchiveEntry {
    /// Bytes of its chunk files.
    pub fn bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.bytes).sum()
    }

    /// When a chunk of it was last used.
    pub fn last_used(&self) -> Option<SystemTime> {
        self.chunks.iter().map(|c| c.used).max()
    }
}

/// Every archive directory under the cache directory `dir`, with its chunk files. Removes
/// temporary files older than [`layout::TEMP_GRACE`] (dead writers' leftovers) on the way.
/// Files and directories not named like the cache's own are left alone and not listed; a
/// cache directory with no cache in it is empty.
pub fn scan(dir: &Path) -> Result<Vec<ArchiveEntry>, Error> {
    let root = layout::root(dir);
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(root, e)),
    };
    let now = SystemTime::now();
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(key) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !layout::is_key(&key) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let Ok(files) = std::fs::read_dir(&path) else {
            continue; // Removed meanwhile (`clear` in another process).
        };
        let mut chunks = Vec::new();
        for file in files.flatten() {
            let Some(name) = file.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(meta) = file.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let mtime = meta.modified().unwrap_or(now);
            if layout::chunk_index(&name).is_some() {
                chunks.push(ChunkEntry {
                    path: file.path(),
                    bytes: meta.len(),
                    used: mtime,
                });
            } else if layout::is_temp(&name) && layout::is_stale_temp(mtime, now) {
                let _ = std::fs::remove_file(file.path());
            }
        }
        let meta = std::fs::read_to_string(path.join(layout::META))
            .ok()
            .and_then(|t| Meta::from_json(&t));
        out.push(ArchiveEntry {
            key,
            path,
            meta,
            chunks,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
