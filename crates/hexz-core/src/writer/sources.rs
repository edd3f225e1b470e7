//! Adding entries: files (from a path, a reader or bytes), whole directory trees, raw
//! streams, directories and symbolic links. Their bytes go to the block pipeline.

use super::capture::Capture;
use super::options::meta_of;
use super::{ArchiveWriter, EntryMeta};
use crate::{Error, Result};
use hexz_format::entry::check_path;
use hexz_format::{Entry, EntryKind};
use std::io::Read;
use std::path::Path;

impl ArchiveWriter {
    /// Adds a file entry whose bytes come from `reader`. `size_hint` (when known) lets a large
    /// file start on a block boundary, so its blocks dedup and read independently.
    pub fn add_reader(
        &mut self,
        path: &str,
        reader: impl Read,
        meta: EntryMeta,
        size_hint: Option<u64>,
    ) -> Result<u64> {
        let fill = |w: &mut Self| w.append_from(reader, path);
        self.add_data(path, EntryKind::File, fill, meta, size_hint)
    }

    /// Adds a file entry holding `data`.
    pub fn add_bytes(&mut self, path: &str, data: &[u8], meta: EntryMeta) -> Result<()> {
        let fill = |w: &mut Self| w.append(data);
        self.add_data(path, EntryKind::File, fill, meta, Some(data.len() as u64))
            .map(|_| ())
    }

    /// Adds a raw stream entry (`disk` for a disk image, `memory` for a RAM dump).
    pub fn add_stream(&mut self, name: &str, reader: impl Read, meta: EntryMeta) -> Result<u64> {
        let fill = |w: &mut Self| w.append_from(reader, name);
        self.add_data(name, EntryKind::Stream, fill, meta, None)
    }

    /// Adds the local file `src` as entry `path` (with its file attributes when
    /// [`WriteOptions::file_attrs`](super::WriteOptions::file_attrs) is on).
    pub fn add_file(&mut self, src: &Path, path: &str) -> Result<u64> {
        let size = self.add_file_data(src, path)?;
        if self.opts.file_attrs {
            if let Ok(md) = std::fs::symlink_metadata(src) {
                self.record_attrs(&mut Capture::default(), src, &md, path)?;
            }
        }
        Ok(size)
    }

    /// Adds the bytes of the local file `src` as entry `path`, with its mode and mtime.
    fn add_file_data(&mut self, src: &Path, path: &str) -> Result<u64> {
        let source = |e| Error::Source {
            path: src.to_path_buf(),
            source: e,
        };
        let file = std::fs::File::open(src).map_err(source)?;
        let md = file.metadata().map_err(source)?;
        if md.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is a directory",
                src.display()
            )));
        }
        // A file reads straight into the block buffer (no read buffer to copy from).
        let fill = |w: &mut Self| w.append_file(file, path);
        self.add_data(path, EntryKind::File, fill, meta_of(&md), Some(md.len()))
    }

    /// Adds a directory entry (no data).
    pub fn add_dir_entry(&mut self, path: &str, meta: EntryMeta) -> Result<()> {
        self.push_entry(Entry {
            path: path.into(),
            kind: EntryKind::Dir,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: 0,
            size: 0,
            target: None,
        })
    }

    /// Adds a symbolic link entry.
    pub fn add_symlink(&mut self, path: &str, target: &str, meta: EntryMeta) -> Result<()> {
        if target.is_empty()
            || target.len() > hexz_format::limits::MAX_PATH_LEN as usize
            || target.contains('\0')
        {
            return Err(Error::InvalidInput(format!(
                "symlink {path}: invalid target {target:?}"
            )));
        }
        self.push_entry(Entry {
            path: path.into(),
            kind: EntryKind::Symlink,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: 0,
            size: 0,
            target: Some(target.into()),
        })
    }

    /// Adds every file, directory and symlink under `src` (not following symlinks), with paths
    /// relative to `src`, prefixed by `prefix/` when `prefix` is not empty.
    pub fn add_dir(&mut self, src: &Path, prefix: &str) -> Result<()> {
        self.add_dir_filtered(src, prefix, &|_| true)
    }

    /// Like [`add_dir`](Self::add_dir), skipping every path for which `keep` returns false
    /// (a skipped directory is not descended into).
    pub fn add_dir_filtered(
        &mut self,
        src: &Path,
        prefix: &str,
        keep: &dyn Fn(&Path) -> bool,
    ) -> Result<()> {
        let source = |p: &Path, e| Error::Source {
            path: p.to_path_buf(),
            source: e,
        };
        let mut capture = Capture::default();
        let root_dev = device_of(&std::fs::metadata(src).map_err(|e| source(src, e))?);
        let mut stack = vec![(src.to_path_buf(), prefix.trim_matches('/').to_string())];
        while let Some((dir, rel)) = stack.pop() {
            let mut children: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| source(&dir, e))?
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| source(&dir, e))?;
            children.sort_by_key(|c| c.file_name());
            let mut subdirs = Vec::new();
            for child in children {
                let p = child.path();
                if !keep(&p) {
                    continue;
                }
                let name = child.file_name().into_string().map_err(|n| {
                    Error::InvalidInput(format!("{}: file name {n:?} is not UTF-8", dir.display()))
                })?;
                let rel_child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let md = std::fs::symlink_metadata(&p).map_err(|e| source(&p, e))?;
                let ft = md.file_type();
                let attrs = self.opts.file_attrs;
                if ft.is_dir() {
                    self.add_dir_entry(&rel_child, meta_of(&md))?;
                    // Another file system's mount point is kept, not descended into.
                    if !self.opts.one_file_system || device_of(&md) == root_dev {
                        subdirs.push((p.clone(), rel_child.clone()));
                    }
                } else if ft.is_symlink() {
                    let target = std::fs::read_link(&p).map_err(|e| source(&p, e))?;
                    let target = target.to_str().ok_or_else(|| {
                        Error::InvalidInput(format!("{}: symlink target is not UTF-8", p.display()))
                    })?;
                    self.add_symlink(&rel_child, target, meta_of(&md))?;
                } else if ft.is_file() {
                    match attrs
                        .then(|| capture.earlier_link(&md, &rel_child))
                        .flatten()
                    {
                        Some(first) => self.add_hard_link(&rel_child, &first, meta_of(&md))?,
                        None => self.add_file_data(&p, &rel_child).map(drop)?,
                    }
                } else if let Some(kind) = attrs.then(|| special_kind(&ft)).flatten() {
                    self.add_special(&rel_child, kind, meta_of(&md), (0, 0))?;
                } else {
                    self.report.skipped.push(p.display().to_string());
                    continue;
                }
                if attrs {
                    self.record_attrs(&mut capture, &p, &md, &rel_child)?;
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(())
    }

    /// Records what the file system says about `src` for entry `path`, keeping the link group
    /// already given to it.
    fn record_attrs(
        &mut self,
        capture: &mut Capture,
        src: &Path,
        md: &std::fs::Metadata,
        path: &str,
    ) -> Result<()> {
        let mut attrs = capture.attrs(src, md, self.opts.keep_times);
        attrs.link_group = self.attrs.get(path).map_or(0, |a| a.link_group);
        self.set_file_attrs(path, attrs)
    }

    pub(super) fn push_entry(&mut self, entry: Entry) -> Result<()> {
        check_path(&entry.path).map_err(|e| Error::InvalidInput(e.to_string()))?;
        if self.paths.contains_key(&entry.path) {
            return Err(Error::DuplicateEntry(entry.path));
        }
        self.paths.insert(entry.path.clone(), self.entries.len());
        self.entries.push(entry);
        Ok(())
    }

    /// Adds an entry of `kind` whose bytes `fill` appends.
    fn add_data(
        &mut self,
        path: &str,
        kind: EntryKind,
        fill: impl FnOnce(&mut Self) -> Result<()>,
        meta: EntryMeta,
        size_hint: Option<u64>,
    ) -> Result<u64> {
        check_path(path).map_err(|e| Error::InvalidInput(e.to_string()))?;
        if self.paths.contains_key(path) {
            return Err(Error::DuplicateEntry(path.into()));
        }
        self.start_bytes()?;
        // A file of a block or more starts a block, so identical files dedup; with
        // content-defined chunking every file does (as restic and borg cut), so that an edit
        // changes the chunks of that file only, never its neighbours'.
        let cdc = matches!(self.opts.chunking, crate::Chunking::Cdc(_));
        if cdc || size_hint.is_none_or(|s| s >= self.opts.block_size as u64) {
            self.cut_block()?;
        }
        let start = self.logical;
        fill(self)?;
        let size = self.logical - start;
        self.push_entry(Entry {
            path: path.into(),
            kind,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: start,
            size,
            target: None,
        })?;
        Ok(size)
    }
}

/// The device a directory is on (for `one_file_system`; 0 where unknown).
fn device_of(md: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    return std::os::unix::fs::MetadataExt::dev(md);
    #[cfg(not(unix))]
    return 0;
}

/// The entry kind of a device node, FIFO or socket.
fn special_kind(ft: &std::fs::FileType) -> Option<EntryKind> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return Some(EntryKind::CharDevice);
        }
        if ft.is_block_device() {
            return Some(EntryKind::BlockDevice);
        }
        if ft.is_fifo() {
            return Some(EntryKind::Fifo);
        }
        if ft.is_socket() {
            return Some(EntryKind::Socket);
        }
    }
    let _ = ft;
    None
}
