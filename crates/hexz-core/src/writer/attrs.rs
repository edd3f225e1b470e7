//! File attributes (`docs/FORMAT.md` §7.6): what an entry has beyond mode and mtime, the
//! entries that have no data (device nodes, FIFOs, sockets), and hard links (entries sharing
//! one data range). Written at `finish` as extension type 1, only when some entry has any.

use super::{ArchiveWriter, EntryMeta};
use crate::{Error, Result};
use hexz_format::{Entry, EntryKind, FileAttrs};

impl ArchiveWriter {
    /// Records `attrs` for the entry `path`, added before (replacing what was recorded).
    pub fn set_file_attrs(&mut self, path: &str, attrs: FileAttrs) -> Result<()> {
        if !self.paths.contains_key(path) {
            return Err(Error::InvalidInput(format!(
                "no entry {path:?} to set file attributes of"
            )));
        }
        if attrs.is_empty() {
            self.attrs.remove(path);
        } else {
            self.attrs.insert(path.to_string(), attrs);
        }
        Ok(())
    }

    /// Adds a device node, FIFO or socket: an entry with no data. `rdev` is a device's
    /// (major, minor) number, recorded in its file attributes.
    pub fn add_special(
        &mut self,
        path: &str,
        kind: EntryKind,
        meta: EntryMeta,
        rdev: (u32, u32),
    ) -> Result<()> {
        if !kind.is_special() {
            return Err(Error::InvalidInput(format!(
                "{path}: {kind:?} is not a device, FIFO or socket"
            )));
        }
        self.push_entry(Entry {
            path: path.into(),
            kind,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset: 0,
            size: 0,
            target: None,
        })?;
        if matches!(kind, EntryKind::CharDevice | EntryKind::BlockDevice) {
            let attrs = FileAttrs {
                rdev,
                ..self.attrs.remove(path).unwrap_or_default()
            };
            self.set_file_attrs(path, attrs)?;
        }
        Ok(())
    }

    /// Adds `path` as a hard link to the file entry `existing`: one more name for the same
    /// data (no bytes are stored again), in one link group with it.
    pub fn add_hard_link(&mut self, path: &str, existing: &str, meta: EntryMeta) -> Result<()> {
        let first = self.paths.get(existing).map(|&i| &self.entries[i]);
        let Some(first) = first.filter(|e| e.kind == EntryKind::File) else {
            return Err(Error::InvalidInput(format!(
                "{path}: no file entry {existing:?} to link to"
            )));
        };
        let (data_offset, size) = (first.data_offset, first.size);
        let group = match self.attrs.get(existing).map(|a| a.link_group) {
            Some(g) if g != 0 => g,
            _ => {
                self.link_groups += 1;
                let g = self.link_groups;
                let attrs = FileAttrs {
                    link_group: g,
                    ..self.attrs.remove(existing).unwrap_or_default()
                };
                self.set_file_attrs(existing, attrs)?;
                g
            }
        };
        self.push_entry(Entry {
            path: path.into(),
            kind: EntryKind::File,
            mode: meta.mode,
            mtime_ns: meta.mtime_ns,
            data_offset,
            size,
            target: None,
        })?;
        let attrs = FileAttrs {
            link_group: group,
            ..self.attrs.remove(path).unwrap_or_default()
        };
        self.set_file_attrs(path, attrs)
    }

    /// The attributes of `entries` (sorted as the table is), or `None` when no entry has any.
    pub(super) fn attrs_table(&mut self, entries: &[Entry]) -> Option<Vec<FileAttrs>> {
        if self.attrs.is_empty() {
            return None;
        }
        let mut attrs = std::mem::take(&mut self.attrs);
        Some(
            entries
                .iter()
                .map(|e| attrs.remove(&e.path).unwrap_or_default())
                .collect(),
        )
    }
}
