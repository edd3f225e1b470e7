//! `hexz extract`: recreate an archive's files, directories and symlinks under a directory.
//!
//! Nothing is ever written outside DIR: entry paths are relative with no `..` (the format
//! guarantees it and it is checked again here), no write goes through a symlink (every ancestor
//! of a target is checked with `symlink_metadata`), and files are created with `O_EXCL`, which
//! never follows a symlink at the last component.
//!
//! Nothing the user had is lost: each file and symlink is written to a new hidden name beside
//! its target and renamed over it only when complete, so an entry that fails to read (a
//! damaged block, a wrong key) leaves an existing file as it was.

use super::Global;
use crate::restore::Restorer;
use crate::{progress, size};
use anyhow::{bail, Context, Result};
use hexz_core::{Archive, Entry, EntryKind, ReadOptions};
use indicatif::ProgressBar;
use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const ABOUT: &str = "Extract files, directories, links and special files into a directory";

pub const LONG_ABOUT: &str = "\
Extract files, directories and symlinks into DIR (created when missing).

Recreates permission bits (setuid and setgid only when run as root, as tar does), modification
times (to the nanosecond)
and symlink targets as stored. Raw streams (`disk`, `memory`) become regular files. Runs of
zero bytes are not written, so sparse files stay sparse. Of archives that record file
attributes (`hexz pack` does, format v2): hard links become hard links again, device nodes,
FIFOs and sockets are recreated, extended attributes (ACLs included) and recorded access
times are set, and, when run as root, owners too (as tar does). What needs root and is not
root (a device node, a `trusted.*` attribute) is a warning. Existing
files at the same paths are replaced, each only once its entry was read and checked whole (a
damaged entry leaves the existing file untouched); an existing directory is kept.

ENTRY selects what to extract: a file, or a directory with everything under it; by default,
everything.

Nothing is written outside DIR: an entry that would be written through a symlink (for example
a symlink `link -> /etc` followed by the file `link/passwd`) stops the extraction with an
error.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz extract data.hxz out/
    hexz extract data.hxz out/ docs src/main.rs    only docs/ and one file
    hexz extract vm.hxz . disk                     the raw disk image, as ./disk";

/// Arguments of `hexz extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
    /// Where to extract (created when missing).
    dir: PathBuf,
    /// Entries to extract: files, or directories with their contents (default: all).
    entries: Vec<String>,
}

/// Runs `hexz extract`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let archive = super::open(&args.archive, ReadOptions::default(), global)?;
    let all = archive.entries()?;
    let selected = select(&all, &args.entries, &args.archive)?;
    fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let root = args
        .dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    let total: u64 = selected
        .iter()
        .filter(|e| e.kind.has_data())
        .map(|e| e.size)
        .sum();
    let bar = progress::bytes(progress::wanted(global.quiet), Some(total), "extracting");
    let start = Instant::now();
    let mut x = Extractor {
        archive: &archive,
        root,
        dirs: Vec::new(),
        known_dirs: HashSet::new(),
        buf: Vec::new(),
        bar: &bar,
        restore: Restorer::new(all.clone(), archive.file_attrs()?),
    };
    let result = selected
        .iter()
        .try_for_each(|e| {
            x.extract(e)
                .with_context(|| format!("extracting {}", e.path))
        })
        .and_then(|()| x.finish_dirs());
    bar.finish_and_clear();
    for w in &x.restore.warnings {
        let _ = writeln!(io::stderr(), "hexz: warning: {w}");
    }
    result?;
    if !global.quiet {
        let secs = start.elapsed().as_secs_f64();
        let _ = writeln!(
            io::stderr(),
            "extracted {} entries ({}) to {} in {secs:.2} s",
            selected.len(),
            size::human(total),
            args.dir.display()
        );
    }
    Ok(())
}

/// The entries named by `wanted` (each a path or a directory prefix), in archive order.
fn select<'a>(all: &'a [Entry], wanted: &[String], archive: &Path) -> Result<Vec<&'a Entry>> {
    if wanted.is_empty() {
        return Ok(all.iter().collect());
    }
    let mut picked = BTreeSet::new();
    for w in wanted {
        let w = w.trim_start_matches("./").trim_end_matches('/');
        let prefix = format!("{w}/");
        let matches: Vec<usize> = all
            .iter()
            .enumerate()
            .filter(|(_, e)| w.is_empty() || e.path == w || e.path.starts_with(&prefix))
            .map(|(i, _)| i)
            .collect();
        if matches.is_empty() {
            bail!("no entry named {w:?} in {}", archive.display());
        }
        picked.extend(matches);
    }
    Ok(picked.into_iter().map(|i| &all[i]).collect())
}

struct Extractor<'a> {
    archive: &'a Archive,
    /// The canonical extraction directory.
    root: PathBuf,
    /// Directories whose mode and mtime are set once their contents are written.
    dirs: Vec<(PathBuf, u32, i64)>,
    /// Real directories (not symlinks) under `root`, checked or created by us.
    known_dirs: HashSet<PathBuf>,
    buf: Vec<u8>,
    bar: &'a ProgressBar,
    restore: Restorer,
}

impl Extractor<'_> {
    fn extract(&mut self, e: &Entry) -> Result<()> {
        let path = self.target(&e.path)?;
        self.make_parents(&path)?;
        let existing = fs::symlink_metadata(&path);
        if existing.as_ref().is_ok_and(|md| md.is_dir()) && e.kind != EntryKind::Dir {
            bail!("{} exists and is a directory", path.display());
        }
        match e.kind {
            EntryKind::File | EntryKind::Stream => match self.restore.earlier_link(e) {
                Some(first) => {
                    let first = first.to_path_buf();
                    stage(&path, |tmp| fs::hard_link(&first, tmp))
                        .and_then(|s| s.persist(&path).map_err(|e| e.error))
                        .with_context(|| {
                            format!("cannot link {} to {}", path.display(), first.display())
                        })?;
                    Ok(())
                }
                None => {
                    self.write_file(e, &path)?;
                    self.restore.extracted(e, &path);
                    self.restore.apply(e, &path);
                    Ok(())
                }
            },
            EntryKind::Dir => {
                if !existing.as_ref().is_ok_and(|md| md.is_dir()) {
                    if existing.is_ok() {
                        // A file or symlink where the archive has a directory.
                        fs::remove_file(&path)
                            .with_context(|| format!("cannot replace {}", path.display()))?;
                    }
                    fs::create_dir(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                }
                self.known_dirs.insert(path.clone());
                self.restore.apply(e, &path);
                self.dirs.push((path, e.mode, e.mtime_ns));
                Ok(())
            }
            EntryKind::Symlink => {
                let target = e.target.as_deref().unwrap_or_default();
                let staged = stage(&path, |tmp| platform::symlink(target, tmp))
                    .with_context(|| format!("cannot create symlink {}", path.display()))?;
                let t = filetime_of(e.mtime_ns);
                filetime::set_symlink_file_times(staged.path(), t, t)
                    .with_context(|| format!("cannot set the time of {}", path.display()))?;
                staged
                    .persist(&path)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot replace {}", path.display()))?;
                self.restore.apply(e, &path);
                Ok(())
            }
            _ => {
                let mut made = false;
                let staged = stage(&path, |tmp| {
                    made = self.restore.make_special(e, tmp)?;
                    Ok(())
                })
                .with_context(|| format!("cannot create {}", path.display()))?;
                if !made {
                    return Ok(());
                }
                staged
                    .persist(&path)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot replace {}", path.display()))?;
                let t = filetime_of(e.mtime_ns);
                filetime::set_symlink_file_times(&path, t, t)
                    .with_context(|| format!("cannot set the time of {}", path.display()))?;
                self.restore.apply(e, &path);
                Ok(())
            }
        }
    }

    /// `root` joined with the entry's components, after checking each one.
    fn target(&self, entry_path: &str) -> Result<PathBuf> {
        hexz_format::entry::check_path(entry_path)?;
        let mut path = self.root.clone();
        for c in entry_path.split('/') {
            if !platform::is_plain_component(c) {
                bail!("refusing the entry path {entry_path:?}");
            }
            path.push(c);
        }
        Ok(path)
    }

    /// Makes sure every ancestor of `path` below `root` is a real directory (creating missing
    /// ones), and refuses to go through a symlink.
    fn make_parents(&mut self, path: &Path) -> Result<()> {
        let mut ancestors: Vec<&Path> = path
            .ancestors()
            .skip(1)
            .take_while(|a| *a != self.root)
            .collect();
        ancestors.reverse();
        for dir in ancestors {
            if self.known_dirs.contains(dir) {
                continue;
            }
            match fs::symlink_metadata(dir) {
                Ok(md) if md.is_dir() => {}
                Ok(md) if md.file_type().is_symlink() => {
                    bail!("refusing to write through the symlink {}", dir.display())
                }
                Ok(_) => bail!("{} exists and is not a directory", dir.display()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?,
                Err(e) => return Err(e).with_context(|| format!("cannot stat {}", dir.display())),
            }
            self.known_dirs.insert(dir.to_path_buf());
        }
        Ok(())
    }

    /// Writes the entry to a new file beside `path` and renames it over `path` only once the
    /// whole entry was read and checked: a damaged entry leaves the user's file as it was.
    fn write_file(&mut self, e: &Entry, path: &Path) -> Result<()> {
        let mut staged = stage(path, platform::create_new)
            .with_context(|| format!("cannot create a file beside {}", path.display()))?;
        if self.buf.is_empty() && e.size > 0 {
            self.buf = vec![0; 4 << 20];
        }
        let mut pos = 0;
        while pos < e.size {
            let n = self.archive.read_entry_at(e, pos, &mut self.buf)?;
            if n == 0 {
                bail!("the archive ended early at byte {pos} of {}", e.size);
            }
            write_sparse(staged.as_file_mut(), &self.buf[..n])
                .with_context(|| format!("cannot write {}", path.display()))?;
            pos += n as u64;
            self.bar.inc(n as u64);
        }
        // A file ending in a hole: the length says where it ends.
        staged
            .as_file()
            .set_len(e.size)
            .with_context(|| format!("cannot write {}", path.display()))?;
        platform::set_mode(staged.as_file(), e.mode)
            .with_context(|| format!("cannot set the mode of {}", path.display()))?;
        let atime = self.restore.atime_ns(e).map(filetime_of);
        filetime::set_file_handle_times(staged.as_file(), atime, Some(filetime_of(e.mtime_ns)))
            .with_context(|| format!("cannot set the time of {}", path.display()))?;
        staged
            .persist(path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }

    /// Sets directory modes and times, deepest first, now that their contents are written.
    fn finish_dirs(&mut self) -> Result<()> {
        for (path, mode, mtime_ns) in self.dirs.iter().rev() {
            let dir = platform::open_dir(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            platform::set_mode(&dir, *mode)
                .with_context(|| format!("cannot set the mode of {}", path.display()))?;
            filetime::set_file_handle_times(&dir, None, Some(filetime_of(*mtime_ns)))
                .with_context(|| format!("cannot set the time of {}", path.display()))?;
        }
        Ok(())
    }
}

/// A new file system object made by `make` at a fresh hidden name in `path`'s directory,
/// removed again when dropped unless persisted (renamed over `path`, replacing a file or
/// symlink there without following it).
fn stage<R>(
    path: &Path,
    make: impl FnMut(&Path) -> io::Result<R>,
) -> io::Result<tempfile::NamedTempFile<R>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".hexz-extract-")
        .make_in(dir, make)
}

/// Writes `bytes` at the file's position, seeking over each whole 4 KiB run of zeros instead
/// of writing it, so holes stay holes (the caller sets the length at the end). Data between
/// holes goes out in one write.
fn write_sparse(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    const RUN: usize = 4096;
    let mut data_from = 0; // start of the data not written yet
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + RUN).min(bytes.len());
        if end - at == RUN && bytes[at..end].iter().all(|&b| b == 0) {
            file.write_all(&bytes[data_from..at])?;
            file.seek(SeekFrom::Current(RUN as i64))?;
            data_from = end;
        }
        at = end;
    }
    file.write_all(&bytes[data_from..])
}

fn filetime_of(ns: i64) -> filetime::FileTime {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    filetime::FileTime::from_unix_time(secs, nanos)
}

#[cfg(unix)]
mod platform {
    use super::*;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    /// Creates a new file; fails on an existing path, including a (dangling) symlink.
    pub fn create_new(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    }

    /// Opens a directory for `fchmod`/`futimens`, refusing a symlink.
    pub fn open_dir(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
            .open(path)
    }

    /// Permission bits, without setuid and setgid.
    pub fn set_mode(file: &File, mode: u32) -> io::Result<()> {
        file.set_permissions(fs::Permissions::from_mode(mode & 0o1777))
    }

    pub fn symlink(target: &str, path: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, path)
    }

    pub fn is_plain_component(c: &str) -> bool {
        !c.is_empty() && c != "." && c != ".."
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    pub fn create_new(path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    pub fn open_dir(path: &Path) -> io::Result<File> {
        use std::os::windows::fs::OpenOptionsExt;
        // FILE_FLAG_BACKUP_SEMANTICS opens directories; FILE_FLAG_OPEN_REPARSE_POINT does not
        // follow a symlink.
        OpenOptions::new()
            .write(true)
            .custom_flags(0x0200_0000 | 0x0020_0000)
            .open(path)
    }

    /// Only the read-only bit exists: set when the owner cannot write.
    pub fn set_mode(file: &File, mode: u32) -> io::Result<()> {
        let mut p = file.metadata()?.permissions();
        p.set_readonly(mode & 0o200 == 0);
        file.set_permissions(p)
    }

    pub fn symlink(target: &str, path: &Path) -> io::Result<()> {
        std::os::windows::fs::symlink_file(target, path)
    }

    /// Also refuses drive letters, backslashes and other names Windows would reinterpret.
    pub fn is_plain_component(c: &str) -> bool {
        !c.is_empty()
            && c != "."
            && c != ".."
            && !c.contains(['\\', ':', '<', '>', '"', '|', '?', '*'])
    }
}
