//! The inode table of a [`HexzFs`]: built once from the archive's entries table (directories
//! the paths imply included), then only read.

use super::names::{shown_name, NAME_MAX};
use super::watch::Watch;
use super::HexzFs;
use crate::{sys, MountOptions, Result};
use fuser::{Errno, FileAttr, FileType, INodeNo};
use hexz_core::{Archive, Entry, EntryKind, FileAttrs};
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Mode bits given to directories the archive implies but does not list.
const IMPLIED_DIR_MODE: u16 = 0o755;

/// What an inode is.
pub(super) enum Kind {
    /// Children sorted by name bytes, for binary search and stable `readdir` offsets.
    Dir(Vec<(Box<[u8]>, u64)>),
    /// A file or raw stream: its entry, for `read_entry_at`.
    File(Entry),
    /// A symlink and its target.
    Symlink(Box<[u8]>),
    /// A device node, FIFO or socket (format v2).
    Special(FileType),
}

impl Kind {
    /// The file type `readdir` and `getattr` report.
    pub(super) fn file_type(&self) -> FileType {
        match self {
            Kind::Dir(_) => FileType::Directory,
            Kind::File(_) => FileType::RegularFile,
            Kind::Symlink(_) => FileType::Symlink,
            Kind::Special(t) => *t,
        }
    }
}

pub(super) struct Node {
    pub(super) parent: u64,
    pub(super) kind: Kind,
    perm: u16,
    mtime: SystemTime,
    nlink: u32,
    /// What the archive's file attributes say (§7.6), when it records any for this entry.
    pub(super) attrs: Option<Box<FileAttrs>>,
}

fn time_of(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

impl HexzFs {
    /// Builds the inode table from the archive's entries. Directories that paths imply but
    /// the archive does not list get mode 0755 and the newest mtime in the archive; the root is
    /// such a directory. Entries that would sit below a non-directory, or repeat a path, are
    /// left out (a valid archive has none). Components longer than [`NAME_MAX`] are shown
    /// under [`shown_name`].
    pub fn new(archive: Arc<Archive>, opts: &MountOptions) -> Result<HexzFs> {
        let entries = archive.entries()?;
        let all_attrs = archive.file_attrs()?;
        // Inode of the first entry of each hard-link group: later names point at it.
        let mut linked: HashMap<u64, u64> = HashMap::new();
        let newest = entries.iter().map(|e| e.mtime_ns).max().unwrap_or(0);
        let implied_time = time_of(newest);
        let mut nodes = vec![Node {
            parent: 1,
            kind: Kind::Dir(Vec::new()),
            perm: IMPLIED_DIR_MODE,
            mtime: implied_time,
            nlink: 2,
            attrs: None,
        }];
        // Path of every node so far -> inode.
        let mut by_path: HashMap<&str, u64> = HashMap::new();
        // Inodes shown under a shortened name.
        let mut shortened: HashSet<u64> = HashSet::new();
        'entries: for (i, e) in entries.iter().enumerate() {
            let attrs = all_attrs.get(i).filter(|a| !a.is_empty());
            let path = e.path.as_str();
            let (dir, name) = match path.rfind('/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => ("", path),
            };
            if name.is_empty() || by_path.contains_key(path) {
                // An explicit directory after an implied one of the same path (not possible in
                // sorted order) or a repeated path: keep the first.
                if let (EntryKind::Dir, Some(&ino)) = (e.kind, by_path.get(path)) {
                    let n = &mut nodes[ino as usize - 1];
                    if matches!(n.kind, Kind::Dir(_)) {
                        n.perm = (e.mode & 0o7777) as u16;
                        n.mtime = time_of(e.mtime_ns);
                    }
                }
                continue;
            }
            // Find or create each parent directory.
            let mut parent = 1u64;
            if !dir.is_empty() {
                let mut end = 0;
                for comp in dir.split('/') {
                    end += comp.len();
                    let prefix = &path[..end];
                    end += 1;
                    parent = match by_path.get(prefix) {
                        Some(&ino) if matches!(nodes[ino as usize - 1].kind, Kind::Dir(_)) => ino,
                        Some(_) => continue 'entries,
                        None => {
                            let ino = add_child(
                                &mut nodes,
                                &mut shortened,
                                parent,
                                comp,
                                Node {
                                    parent,
                                    kind: Kind::Dir(Vec::new()),
                                    perm: IMPLIED_DIR_MODE,
                                    mtime: implied_time,
                                    nlink: 2,
                                    attrs: None,
                                },
                            );
                            by_path.insert(prefix, ino);
                            ino
                        }
                    };
                }
            }
            // Another name of a file already shown: the same inode, one more link.
            let group = attrs.map_or(0, |a| a.link_group);
            if let Some(&ino) = (group != 0).then(|| linked.get(&group)).flatten() {
                nodes[ino as usize - 1].nlink += 1;
                link_child(&mut nodes, &mut shortened, parent, name, ino);
                by_path.insert(path, ino);
                continue;
            }
            let kind = match e.kind {
                EntryKind::Dir => Kind::Dir(Vec::new()),
                EntryKind::File | EntryKind::Stream => Kind::File(e.clone()),
                EntryKind::CharDevice => Kind::Special(FileType::CharDevice),
                EntryKind::BlockDevice => Kind::Special(FileType::BlockDevice),
                EntryKind::Fifo => Kind::Special(FileType::NamedPipe),
                EntryKind::Socket => Kind::Special(FileType::Socket),
                EntryKind::Symlink => Kind::Symlink(
                    e.target
                        .as_deref()
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec()
                        .into(),
                ),
            };
            let nlink = if matches!(kind, Kind::Dir(_)) { 2 } else { 1 };
            let node = Node {
                parent,
                kind,
                perm: (e.mode & 0o7777) as u16,
                mtime: time_of(e.mtime_ns),
                nlink,
                attrs: attrs.map(|a| Box::new(a.clone())),
            };
            let ino = add_child(&mut nodes, &mut shortened, parent, name, node);
            by_path.insert(path, ino);
            if group != 0 {
                linked.insert(group, ino);
            }
        }
        // Sort children by name; of equal names (a shortened name that is also another
        // entry's) keep a real name over a shortened one, else the first in path order.
        let mut hidden_inos = HashSet::new();
        for n in nodes.iter_mut() {
            if let Kind::Dir(children) = &mut n.kind {
                children.sort_unstable_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| shortened.contains(&a.1).cmp(&shortened.contains(&b.1)))
                        .then(a.1.cmp(&b.1))
                });
                children.dedup_by(|later, kept| {
                    let same = later.0 == kept.0;
                    if same {
                        hidden_inos.insert(later.1);
                    }
                    same
                });
            }
        }
        let mut hidden: Vec<String> = by_path
            .iter()
            .filter(|(_, ino)| hidden_inos.contains(*ino))
            .map(|(p, _)| p.to_string())
            .collect();
        hidden.sort_unstable();
        if opts.log_errors {
            for p in &hidden {
                eprintln!(
                    "hexz: warning: {p} is not shown: its shortened name is another entry's name"
                );
            }
        }
        // Each directory's link count: 2 and its (shown) subdirectories.
        let subdirs: Vec<u32> = nodes
            .iter()
            .map(|n| match &n.kind {
                Kind::Dir(children) => children
                    .iter()
                    .filter(|c| matches!(nodes[c.1 as usize - 1].kind, Kind::Dir(_)))
                    .count() as u32,
                _ => 0,
            })
            .collect();
        for (n, extra) in nodes.iter_mut().zip(subdirs) {
            if let Kind::Dir(_) = n.kind {
                n.nlink = 2 + extra;
            }
        }
        let euid = sys::effective_ids();
        let watch = Watch::open(&archive);
        Ok(HexzFs {
            blksize: archive.header().block_size.clamp(4096, 1 << 20),
            archive,
            nodes,
            uid: opts.uid.unwrap_or(euid.0),
            gid: opts.gid.unwrap_or(euid.1),
            owner_override: (opts.uid, opts.gid),
            log_errors: opts.log_errors,
            kernel_readahead: opts.kernel_readahead,
            errors: Arc::new(AtomicU64::new(0)),
            hidden,
            watch,
            no_open: false,
            no_opendir: false,
        })
    }

    pub(super) fn node(&self, ino: INodeNo) -> Result<&Node, Errno> {
        usize::try_from(ino.0)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.nodes.get(i))
            .ok_or(Errno::ENOENT)
    }

    /// The attributes `getattr` reports: the archive's owners, times and device number where
    /// it records them (the mount's `uid`/`gid` options override owners), else the mount's.
    pub(super) fn attr(&self, ino: u64, n: &Node) -> FileAttr {
        let size = match &n.kind {
            Kind::Dir(_) => 4096,
            Kind::File(e) => e.size,
            Kind::Symlink(t) => t.len() as u64,
            Kind::Special(_) => 0,
        };
        let a = n.attrs.as_deref();
        let owner = a.and_then(|a| a.owner).unwrap_or((self.uid, self.gid));
        let (uid, gid) = (
            self.owner_override.0.unwrap_or(owner.0),
            self.owner_override.1.unwrap_or(owner.1),
        );
        let rdev = a.map_or(0, |a| {
            nix::sys::stat::makedev(a.rdev.0.into(), a.rdev.1.into()) as u32
        });
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: a.and_then(|a| a.atime_ns).map_or(n.mtime, time_of),
            mtime: n.mtime,
            ctime: a.and_then(|a| a.ctime_ns).map_or(n.mtime, time_of),
            crtime: n.mtime,
            kind: n.kind.file_type(),
            perm: n.perm,
            nlink: n.nlink,
            uid,
            gid,
            rdev,
            blksize: self.blksize,
            flags: 0,
        }
    }

    pub(super) fn lookup_child(&self, parent: INodeNo, name: &OsStr) -> Result<Option<u64>, Errno> {
        let Kind::Dir(children) = &self.node(parent)?.kind else {
            return Err(Errno::ENOTDIR);
        };
        Ok(children
            .binary_search_by(|c| (*c.0).cmp(name.as_bytes()))
            .ok()
            .map(|i| children[i].1))
    }
}

/// Lists `ino` under `parent` as `name` too (another name of a hard-linked file).
fn link_child(nodes: &mut [Node], shortened: &mut HashSet<u64>, parent: u64, name: &str, ino: u64) {
    if name.len() > NAME_MAX {
        shortened.insert(ino);
    }
    if let Kind::Dir(children) = &mut nodes[parent as usize - 1].kind {
        children.push((shown_name(name).as_bytes().into(), ino));
    }
}

fn add_child(
    nodes: &mut Vec<Node>,
    shortened: &mut HashSet<u64>,
    parent: u64,
    name: &str,
    node: Node,
) -> u64 {
    nodes.push(node);
    let ino = nodes.len() as u64;
    if name.len() > NAME_MAX {
        shortened.insert(ino);
    }
    if let Kind::Dir(children) = &mut nodes[parent as usize - 1].kind {
        children.push((shown_name(name).as_bytes().into(), ino));
    }
    ino
}
