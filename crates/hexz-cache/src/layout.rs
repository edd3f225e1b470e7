//! The cache's files and their names. Everything lives under `<dir>/hexz-cache-v1/`:
//!
//! ```text
//! <dir>/hexz-cache-v1/<key>/archive.json          what the archive is (for `hexz cache ls`)
//! <dir>/hexz-cache-v1/<key>/<index>.chunk         one chunk: header, page crcs, bytes
//! <dir>/hexz-cache-v1/<key>/.tmp-<random>         a chunk being written (renamed when whole)
//! ```
//!
//! `<key>` is 32 hex digits of a BLAKE3 hash of the store's identity (URL, ETag, length) and
//! the chunk size; `<index>` is the chunk's index in the object, 16 hex digits. Eviction and
//! `clear` touch only names of these shapes, only in directories of this shape.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The cache's own subdirectory of the cache directory.
pub const ROOT: &str = "hexz-cache-v1";
/// The description file of an archive's directory.
pub const META: &str = "archive.json";
/// Prefix of files being written.
pub const TEMP_PREFIX: &str = ".tmp-";
/// Suffix of chunk files.
const CHUNK_SUFFIX: &str = ".chunk";
/// A temporary file older than this belongs to a writer that died; it is removed.
pub const TEMP_GRACE: Duration = Duration::from_secs(15 * 60);

/// The directory of the cache's own files under the cache directory `dir`.
pub fn root(dir: &Path) -> PathBuf {
    dir.join(ROOT)
}

/// The key of an archive: 32 hex digits naming its identity and chunk size.
pub fn key(identity: &str, chunk_size: u64) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"hexz-cache v1\0");
    h.update(identity.as_bytes());
    h.update(b"\0");
    h.update(&chunk_size.to_le_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// Whether `name` is an archive directory's name (a key).
pub fn is_key(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The file name of chunk `index`.
pub fn chunk_name(index: u64) -> String {
    format!("{index:016x}{CHUNK_SUFFIX}")
}

/// The chunk index a file name stands for, when it is a chunk file's name.
pub fn chunk_index(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(CHUNK_SUFFIX)?;
    if hex.len() != 16 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Whether `name` is a temporary file's name.
pub fn is_temp(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// Whether a temporary file last modified at `mtime` is a dead writer's leftover.
pub fn is_stale_temp(mtime: SystemTime, now: SystemTime) -> bool {
    now.duration_since(mtime).is_ok_and(|age| age > TEMP_GRACE)
}

/// What `archive.json` records about an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The store's identity (URL, ETag, length).
    pub identity: String,
    /// The URL (the store's `describe()`).
    pub url: String,
    /// The object's length.
    pub len: u64,
    /// The chunk size.
    pub chunk_size: u64,
}

impl Meta {
    /// The JSON text of `archive.json`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "identity": self.identity,
            "url": self.url,
            "len": self.len,
            "chunk_size": self.chunk_size,
        })
        .to_string()
    }

    /// Parses `archive.json`; `None` when it is not one.
    pub fn from_json(text: &str) -> Option<Meta> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        Some(Meta {
            identity: v.get("identity")?.as_str()?.to_string(),
            url: v.get("url")?.as_str()?.to_string(),
            len: v.get("len")?.as_u64()?,
            chunk_size: v.get("chunk_size")?.as_u64()?,
        })
    }
}

/// Writes `bytes` to `dir/name` atomically: a temporary file in `dir`, renamed over the name
/// once complete, so a reader sees the old file, no file, or the whole new one. Not synced:
/// every file this cache reads back is checked (chunk crcs, JSON parse), so one torn by a
/// crash of the machine is found and rewritten.
pub fn write_atomic(dir: &Path, name: &str, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    for part in parts {
        tmp.write_all(part)?;
    }
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(chunk_name(0x1f), "000000000000001f.chunk");
        assert_eq!(chunk_index("000000000000001f.chunk"), Some(0x1f));
        for not in [
            "1f.chunk",
            "000000000000001F.chunk",
            "000000000000001f",
            "x.chunk",
        ] {
            assert_eq!(chunk_index(not), None, "{not}");
        }
        let k = key("s3://b/k etag=\"1\" len=5", 8 << 20);
        assert!(is_key(&k), "{k}");
        assert_ne!(k, key("s3://b/k etag=\"2\" len=5", 8 << 20));
        assert_ne!(k, key("s3://b/k etag=\"1\" len=5", 4 << 20));
        assert!(!is_key("tmp") && !is_key(&k.to_uppercase()));
        assert!(is_temp(".tmp-abc") && !is_temp("archive.json"));
    }

    #[test]
    fn meta_round_trip() {
        let m = Meta {
            identity: "s3://b/k etag=\"x\" len=9".into(),
            url: "s3://b/k".into(),
            len: 9,
            chunk_size: 1 << 20,
        };
        assert_eq!(Meta::from_json(&m.to_json()), Some(m));
        assert_eq!(Meta::from_json("{}"), None);
        assert_eq!(Meta::from_json("not json"), None);
    }
}
