//! The served files: opened and checked once at startup, then read through the same handle.

use crate::body::Source;
use crate::cond::{whole_seconds, Validators};
use crate::Error;
use hexz_core::{Archive, ReadAt, ReadOptions};
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One file served at `/<name>`.
#[derive(Debug)]
pub(crate) struct Served {
    /// The file name, which is also the URL path without its `/`.
    pub name: String,
    pub source: Arc<Source>,
    /// The inode (or 0 where there is none), part of the ETag.
    ino: u64,
    /// The length when the server started.
    pub len_at_start: u64,
}

/// The file's state at one request: its length and validators.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub len: u64,
    pub validators: Validators,
}

/// All served files, by name.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub files: Vec<Served>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    /// Opens every path; with `check`, each must open as an archive.
    pub fn open(paths: &[PathBuf], check: bool) -> Result<Catalog, Error> {
        if paths.is_empty() {
            return Err(Error::NoArchives);
        }
        let mut files: Vec<Served> = Vec::with_capacity(paths.len());
        let mut by_name = HashMap::with_capacity(paths.len());
        for path in paths {
            let served = Served::open(path, check)?;
            if let Some(&i) = by_name.get(&served.name) {
                let first: &Served = &files[i];
                return Err(Error::DuplicateName {
                    name: served.name,
                    first: first.source.path.clone(),
                    second: path.clone(),
                });
            }
            by_name.insert(served.name.clone(), files.len());
            files.push(served);
        }
        Ok(Catalog { files, by_name })
    }

    /// The file served as `/<name>`.
    pub fn get(&self, name: &str) -> Option<&Served> {
        self.by_name.get(name).map(|&i| &self.files[i])
    }
}

/// The name a path is served under: its file name, as UTF-8.
fn name_of(path: &Path) -> Result<String, Error> {
    let bad = |reason| Error::BadName {
        path: path.to_path_buf(),
        reason,
    };
    let name = path.file_name().ok_or_else(|| bad("it has no file name"))?;
    let name = name
        .to_str()
        .ok_or_else(|| bad("its file name is not valid UTF-8"))?;
    Ok(name.to_string())
}

impl Served {
    fn open(path: &Path, check: bool) -> Result<Served, Error> {
        let open_err = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        let name = name_of(path)?;
        let file = File::open(path).map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        if !meta.is_file() {
            return Err(Error::NotAFile {
                path: path.to_path_buf(),
            });
        }
        let source = Arc::new(Source {
            file,
            path: path.to_path_buf(),
        });
        if check {
            // Checks header, footer, summary and entries table through the very handle that
            // is served, so a file swapped between the check and the first request is never
            // served unchecked.
            let store = Arc::new(Pinned {
                source: source.clone(),
                len: meta.len(),
            });
            let opts = ReadOptions {
                cache_bytes: 1 << 20,
                readahead_threads: 0,
                ..ReadOptions::default()
            };
            let invalid = |source| Error::InvalidArchive {
                path: path.to_path_buf(),
                source,
            };
            // An encrypted archive is served to clients that hold the key; without it only
            // the header can be checked here.
            let header = hexz_core::read_header(&*store).map_err(invalid)?;
            if header.required.0 & hexz_core::ENCRYPTED_FEATURE == 0 {
                let archive = Archive::open_store(store, opts).map_err(invalid)?;
                archive.entries().map_err(invalid)?;
            }
        }
        Ok(Served {
            name,
            source,
            ino: inode(&meta),
            len_at_start: meta.len(),
        })
    }

    /// The file's length and validators now (one `fstat` of the open handle).
    pub fn snapshot(&self) -> io::Result<Snapshot> {
        let meta = self.source.file.metadata()?;
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let nanos = mtime
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let date_is_strong = SystemTime::now()
            .duration_since(mtime)
            .is_ok_and(|age| age >= Duration::from_secs(1));
        Ok(Snapshot {
            len: meta.len(),
            validators: Validators {
                etag: format!("\"{:x}-{:x}-{nanos:x}\"", self.ino, meta.len()),
                last_modified: whole_seconds(mtime),
                date_is_strong,
            },
        })
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// The served handle as a [`ReadAt`], for the startup check.
struct Pinned {
    source: Arc<Source>,
    len: u64,
}

impl ReadAt for Pinned {
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past end of file",
            ));
        }
        crate::body::pread_exact(&self.source.file, offset, buf)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.len)
    }

    fn describe(&self) -> String {
        self.source.path.display().to_string()
    }
}
