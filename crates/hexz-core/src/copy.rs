//! Copying an archive's contents into a writer: every entry with its file attributes (hard
//! links as links), every record group with its records, and the metadata. `hexz flatten`
//! uses it to turn a thin archive into a self-contained one; the writer's options decide
//! how the copy is cut, compressed and encrypted.

use crate::{Archive, ArchiveWriter, EntryMeta, Result};
use hexz_format::{Entry, EntryKind, FileAttrs};
use std::collections::HashMap;
use std::io::Read;

/// Copies everything `src` holds into `w` (which the caller finishes).
pub fn copy_archive(src: &Archive, w: &mut ArchiveWriter) -> Result<()> {
    let entries = src.entries()?;
    let attrs = src.file_attrs()?;
    // The first path of each hard-link group: the others are linked to it.
    let mut linked: HashMap<u64, &str> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let a = attrs.get(i).cloned().unwrap_or_default();
        let meta = EntryMeta {
            mode: e.mode,
            mtime_ns: e.mtime_ns,
        };
        match e.kind {
            EntryKind::File if a.link_group != 0 && linked.contains_key(&a.link_group) => {
                w.add_hard_link(&e.path, linked[&a.link_group], meta)?;
            }
            EntryKind::File => {
                w.add_reader(&e.path, EntryReader::new(src, e), meta, Some(e.size))?;
                if a.link_group != 0 {
                    linked.insert(a.link_group, &e.path);
                }
            }
            EntryKind::Stream => {
                w.add_stream(&e.path, EntryReader::new(src, e), meta)?;
            }
            EntryKind::Dir => w.add_dir_entry(&e.path, meta)?,
            EntryKind::Symlink => {
                w.add_symlink(&e.path, e.target.as_deref().unwrap_or(""), meta)?;
            }
            kind => w.add_special(&e.path, kind, meta, a.rdev)?,
        }
        if a != FileAttrs::default() {
            w.set_file_attrs(&e.path, a)?;
        }
    }
    for g in src.record_groups()?.iter() {
        w.begin_records(&g.name, g.dtype, &g.shape)?;
        for i in g.first_record..g.first_record + g.record_count {
            let r = src.record(i)?;
            w.add_record(&src.read_vec(r.offset, r.length as usize)?)?;
        }
    }
    if let Some(json) = src.metadata()? {
        w.set_metadata(&json)?;
    }
    Ok(())
}

/// An entry's bytes as a reader.
struct EntryReader<'a> {
    src: &'a Archive,
    entry: &'a Entry,
    pos: u64,
}

impl<'a> EntryReader<'a> {
    fn new(src: &'a Archive, entry: &'a Entry) -> Self {
        EntryReader { src, entry, pos: 0 }
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .src
            .read_entry_at(self.entry, self.pos, buf)
            .map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}
