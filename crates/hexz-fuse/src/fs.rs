//! [`HexzFs`]: the archive's entries as a read-only file system (`fuser::Filesystem`).

use crate::Result;
use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, InitFlags, KernelConfig, LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
    ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use hexz_core::{Archive, Entry, EntryKind};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may cache attributes, names and missing names: the archive never
/// changes while mounted.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest read the kernel sends with `FUSE_MAX_PAGES` (its default page limit is 1 MiB);
/// bigger requests are served anyway, this only sizes the reused buffers.
const READ_BUF: usize = 1 << 20;
/// Mode bits given to directories the archive implies but does not list.
const IMPLIED_DIR_MODE: u16 = 0o755;
/// Longest name the mount shows: the kernel's `NAME_MAX`, which tools and the C library assume
/// (`statfs` reports it too). Archive paths may hold components of up to 4,096 bytes.
pub const NAME_MAX: usize = 255;
/// Hex digits of the BLAKE3 hash in a shortened name: 128 bits, so that two different names
/// never share a shortened one.
const NAME_HASH_HEX: usize = 32;
/// Longest symlink target `readlink(2)` can return through FUSE: the kernel's `PATH_MAX`
/// counts the terminating NUL, so a 4,096-byte target (legal in an archive) does not fit.
const TARGET_MAX: usize = 4095;

/// The name under which a path component of the archive appears in the mount: the component
/// itself when it is at most [`NAME_MAX`] (255) bytes; otherwise its first 222 bytes or fewer
/// (cut at a UTF-8 character boundary), `~`, and the first 32 hex digits of the BLAKE3 hash
/// of the whole component, at most 255 bytes in all. The rule depends on the component alone,
/// so the name is the same in every mount and version, and it never equals a shorter real
/// name's shortened form. Should it equal a real name in the same directory (an archive built
/// to do so), the real name wins and the long entry is hidden ([`HexzFs::hidden`]).
pub fn shown_name(component: &str) -> Cow<'_, str> {
    if component.len() <= NAME_MAX {
        return Cow::Borrowed(component);
    }
    let mut cut = NAME_MAX - 1 - NAME_HASH_HEX;
    while !component.is_char_boundary(cut) {
        cut -= 1;
    }
    let hex = blake3::hash(component.as_bytes()).to_hex();
    Cow::Owned(format!("{}~{}", &component[..cut], &hex[..NAME_HASH_HEX]))
}

/// What an inode is.
enum Kind {
    /// Children sorted by name bytes, for binary search and stable `readdir` offsets.
    Dir(Vec<(Box<[u8]>, u64)>),
    /// A file or raw stream: its entry, for `read_entry_at`.
    File(Entry),
    /// A symlink and its target.
    Symlink(Box<[u8]>),
}

struct Node {
    parent: u64,
    kind: Kind,
    perm: u16,
    mtime: SystemTime,
    nlink: u32,
}

/// The archive as a file system: an inode table built once from the entries table, and reads
/// served by `Archive::read_entry_at` (block cache, read-ahead, integrity checks). Immutable
/// after construction, so every request is served from any thread without locks.
pub struct HexzFs {
    archive: Arc<Archive>,
    /// Inode `i` is `nodes[i - 1]`; inode 1 is the root.
    nodes: Vec<Node>,
    uid: u32,
    gid: u32,
    blksize: u32,
    log_errors: bool,
    kernel_readahead: u32,
    errors: Arc<AtomicU64>,
    /// Entries left out of the mount: their shortened name is another entry's name.
    hidden: Vec<String>,
    /// The archive's local file, watched for changes made in place while mounted.
    watch: Option<Watch>,
    /// The kernel supports `FUSE_NO_OPEN_SUPPORT` / `FUSE_NO_OPENDIR_SUPPORT`: answering the
    /// first OPEN (OPENDIR) with ENOSYS makes it skip those round trips for good, and open
    /// every file with `FOPEN_KEEP_CACHE` (every directory with `FOPEN_CACHE_DIR` too), which
    /// is what this read-only archive asks for anyway.
    no_open: bool,
    no_opendir: bool,
}

/// The archive's file as it was at mount: a file written, truncated or touched in place under
/// the engine would hand out new bytes next to old ones (an index page read afresh vouches
/// for new blocks), so once its length or mtime changes every read answers `EIO`. Replacing
/// the file by `rename` is harmless (the engine keeps reading the old inode) and not seen.
struct Watch {
    /// A second descriptor on the same inode as the engine's.
    file: File,
    len: u64,
    mtime: SystemTime,
    /// Set once a change is seen: from then on reads fail without touching the engine.
    changed: AtomicBool,
}

impl Watch {
    /// Watches the local file `archive` reads from, if its path still names it: same length,
    /// and the same first and last 4 KiB. A remote store, or a file already replaced by
    /// another, has nothing to watch.
    fn open(archive: &Archive) -> Option<Watch> {
        let store = archive.store();
        let file = File::open(store.describe()).ok()?;
        let md = file.metadata().ok()?;
        let len = store.len().ok()?;
        if !md.is_file() || md.len() != len {
            return None;
        }
        let n = len.min(4096);
        for off in [0, len - n] {
            let mut ours = vec![0u8; n as usize];
            let mut theirs = vec![0u8; n as usize];
            std::os::unix::fs::FileExt::read_exact_at(&file, &mut ours, off).ok()?;
            store.read_exact_at(off, &mut theirs).ok()?;
            if ours != theirs {
                return None;
            }
        }
        Some(Watch {
            len: md.len(),
            mtime: md.modified().ok()?,
            file,
            changed: AtomicBool::new(false),
        })
    }

    /// Whether the file still is as it was at mount. Checked after a read: a write updates
    /// the mtime before it changes any byte, so an unchanged file means every byte the read
    /// used (now or earlier, through the cache) was the old one.
    fn unchanged(&self) -> bool {
        if self.changed.load(Ordering::Relaxed) {
            return false;
        }
        let same = self
            .file
            .metadata()
            .is_ok_and(|md| md.len() == self.len && md.modified().ok() == Some(self.mtime));
        if !same {
            self.changed.store(true, Ordering::Relaxed);
        }
        same
    }
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
    pub fn new(archive: Arc<Archive>, opts: &crate::MountOptions) -> Result<HexzFs> {
        let entries = archive.entries()?;
        let newest = entries.iter().map(|e| e.mtime_ns).max().unwrap_or(0);
        let implied_time = time_of(newest);
        let mut nodes = vec![Node {
            parent: 1,
            kind: Kind::Dir(Vec::new()),
            perm: IMPLIED_DIR_MODE,
            mtime: implied_time,
            nlink: 2,
        }];
        // Path of every node so far -> inode.
        let mut by_path: HashMap<&str, u64> = HashMap::new();
        // Inodes shown under a shortened name.
        let mut shortened: HashSet<u64> = HashSet::new();
        'entries: for e in entries.iter() {
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
                                },
                            );
                            by_path.insert(prefix, ino);
                            ino
                        }
                    };
                }
            }
            let kind = match e.kind {
                EntryKind::Dir => Kind::Dir(Vec::new()),
                EntryKind::File | EntryKind::Stream => Kind::File(e.clone()),
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
            };
            let ino = add_child(&mut nodes, &mut shortened, parent, name, node);
            by_path.insert(path, ino);
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
        let euid = effective_ids();
        let watch = Watch::open(&archive);
        Ok(HexzFs {
            blksize: archive.header().block_size.clamp(4096, 1 << 20),
            archive,
            nodes,
            uid: opts.uid.unwrap_or(euid.0),
            gid: opts.gid.unwrap_or(euid.1),
            log_errors: opts.log_errors,
            kernel_readahead: opts.kernel_readahead,
            errors: Arc::new(AtomicU64::new(0)),
            hidden,
            watch,
            no_open: false,
            no_opendir: false,
        })
    }

    /// Number of inodes (the root included).
    pub fn inode_count(&self) -> usize {
        self.nodes.len()
    }

    /// Paths of the entries left out because their shortened name ([`shown_name`]) is the
    /// name of another entry in the same directory; empty for any archive not built so.
    pub fn hidden(&self) -> &[String] {
        &self.hidden
    }

    /// Counts reads answered with an error since mounting.
    pub(crate) fn error_counter(&self) -> Arc<AtomicU64> {
        self.errors.clone()
    }

    fn node(&self, ino: INodeNo) -> Result<&Node, Errno> {
        usize::try_from(ino.0)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.nodes.get(i))
            .ok_or(Errno::ENOENT)
    }

    fn attr(&self, ino: u64, n: &Node) -> FileAttr {
        let (kind, size) = match &n.kind {
            Kind::Dir(_) => (FileType::Directory, 4096),
            Kind::File(e) => (FileType::RegularFile, e.size),
            Kind::Symlink(t) => (FileType::Symlink, t.len() as u64),
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: n.mtime,
            mtime: n.mtime,
            ctime: n.mtime,
            crtime: n.mtime,
            kind,
            perm: n.perm,
            nlink: n.nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: self.blksize,
            flags: 0,
        }
    }

    fn lookup_child(&self, parent: INodeNo, name: &OsStr) -> Result<Option<u64>, Errno> {
        let Kind::Dir(children) = &self.node(parent)?.kind else {
            return Err(Errno::ENOTDIR);
        };
        Ok(children
            .binary_search_by(|c| (*c.0).cmp(name.as_bytes()))
            .ok()
            .map(|i| children[i].1))
    }

    /// Fills `buf` from `entry` at `offset`; short only at the entry's end.
    fn read_into(&self, entry: &Entry, offset: u64, buf: &mut [u8]) -> hexz_core::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let n = self
                .archive
                .read_entry_at(entry, offset + done as u64, &mut buf[done..])?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn path_of(&self, ino: INodeNo) -> String {
        match self.node(ino).map(|n| &n.kind) {
            Ok(Kind::File(e)) => e.path.clone(),
            _ => format!("inode {}", ino.0),
        }
    }
}

/// The effective uid and gid of this process.
fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and have no preconditions.
    unsafe { (libc::geteuid(), libc::getegid()) }
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

/// Why a read fails once the archive's file was changed in place.
fn changed_error() -> hexz_core::Error {
    hexz_core::Error::Io {
        context: "the archive file was changed while mounted".into(),
        source: std::io::Error::other("unmount and mount it again to read the new contents"),
    }
}

/// The error a failed engine read gives the reading process: `EIO` (corrupt data, an
/// unreachable store) — never bytes that did not pass the checks.
fn errno_of(_e: &hexz_core::Error) -> Errno {
    Errno::EIO
}

thread_local! {
    /// Each request thread's read buffer, reused across requests.
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Filesystem for HexzFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // The kernel offers its largest read-ahead; take it all (the per-mount bdi setting,
        // raised after mounting, is the other bound).
        let want = self.kernel_readahead.max(1);
        if let Err(max) = config.set_max_readahead(want) {
            let _ = config.set_max_readahead(max);
        }
        // Read-ahead and async reads are background requests: let many be in flight.
        let _ = config.set_max_background(64);
        let _ = config.set_congestion_threshold(48);
        for cap in [
            InitFlags::FUSE_ASYNC_READ,
            InitFlags::FUSE_MAX_PAGES,
            InitFlags::FUSE_PARALLEL_DIROPS,
            InitFlags::FUSE_CACHE_SYMLINKS,
        ] {
            // A capability the kernel lacks is simply not used.
            let _ = config.add_capabilities(cap);
        }
        self.no_open = config
            .add_capabilities(InitFlags::FUSE_NO_OPEN_SUPPORT)
            .is_ok();
        self.no_opendir = config
            .add_capabilities(InitFlags::FUSE_NO_OPENDIR_SUPPORT)
            .is_ok();
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.lookup_child(parent, name) {
            Ok(Some(ino)) => {
                let n = &self.nodes[ino as usize - 1];
                reply.entry(&TTL, &self.attr(ino, n), Generation(0));
            }
            Ok(None) => {
                // Inode 0 with a timeout: the kernel caches the name as missing.
                let mut attr = self.attr(1, &self.nodes[0]);
                attr.ino = INodeNo(0);
                reply.entry(&TTL, &attr, Generation(0));
            }
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.node(ino) {
            Ok(n) => reply.attr(&TTL, &self.attr(ino.0, n)),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.node(ino).map(|n| &n.kind) {
            // A reply the kernel has no room for would reach the reader as EIO.
            Ok(Kind::Symlink(t)) if t.len() > TARGET_MAX => reply.error(Errno::ENAMETOOLONG),
            Ok(Kind::Symlink(t)) => reply.data(t),
            Ok(_) => reply.error(Errno::EINVAL),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.node(ino).map(|n| &n.kind) {
            Ok(Kind::File(_)) if flags.acc_mode() != OpenAccMode::O_RDONLY => {
                reply.error(Errno::EROFS)
            }
            Ok(Kind::File(_)) if flags.0 & libc::O_TRUNC != 0 => reply.error(Errno::EROFS),
            // No more OPEN requests: one round trip less per file opened.
            Ok(Kind::File(_)) if self.no_open => reply.error(Errno::ENOSYS),
            // The archive never changes: keep the page cache across opens.
            Ok(Kind::File(_)) => reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE),
            Ok(Kind::Dir(_)) => reply.error(Errno::EISDIR),
            Ok(Kind::Symlink(_)) => reply.error(Errno::ELOOP),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let entry = match self.node(ino).map(|n| &n.kind) {
            Ok(Kind::File(e)) => e,
            Ok(Kind::Dir(_)) => return reply.error(Errno::EISDIR),
            Ok(Kind::Symlink(_)) => return reply.error(Errno::EINVAL),
            Err(e) => return reply.error(e),
        };
        let want = (size as u64).min(entry.size.saturating_sub(offset)) as usize;
        if want == 0 {
            return reply.data(&[]);
        }
        BUF.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < want {
                b.resize(want.max(READ_BUF.min(want.next_power_of_two())), 0);
            }
            let read = match &self.watch {
                Some(w) if w.changed.load(Ordering::Relaxed) => Err(changed_error()),
                _ => self.read_into(entry, offset, &mut b[..want]),
            };
            // Checked after the read: only then does an unchanged file vouch for its bytes.
            let read = match (&self.watch, read) {
                (Some(w), Ok(_)) if !w.unchanged() => Err(changed_error()),
                (_, r) => r,
            };
            match read {
                Ok(n) => reply.data(&b[..n]),
                Err(err) => {
                    self.errors.fetch_add(1, Ordering::Relaxed);
                    if self.log_errors {
                        eprintln!(
                            "hexz: error: reading {} at {offset}: {err} (answered EIO)",
                            self.path_of(ino)
                        );
                    }
                    reply.error(errno_of(&err));
                }
            }
            // Do not keep a huge buffer for a thread that served one huge read.
            if b.len() > READ_BUF {
                *b = Vec::new();
            }
        });
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.node(ino).map(|n| &n.kind) {
            Ok(Kind::Dir(_)) if self.no_opendir => reply.error(Errno::ENOSYS),
            // The listing never changes: let the kernel cache it across opens.
            Ok(Kind::Dir(_)) => reply.opened(
                FileHandle(0),
                FopenFlags::FOPEN_KEEP_CACHE | FopenFlags::FOPEN_CACHE_DIR,
            ),
            Ok(_) => reply.error(Errno::ENOTDIR),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let n = match self.node(ino) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        let Kind::Dir(children) = &n.kind else {
            return reply.error(Errno::ENOTDIR);
        };
        // Offsets: 0 ".", 1 "..", 2 + i the i-th child; each entry carries the next one's.
        let total = 2 + children.len() as u64;
        for i in offset..total {
            let full = match i {
                0 => reply.add(ino, 1, FileType::Directory, "."),
                1 => reply.add(INodeNo(n.parent), 2, FileType::Directory, ".."),
                _ => {
                    let (name, child) = &children[(i - 2) as usize];
                    let kind = match self.nodes[*child as usize - 1].kind {
                        Kind::Dir(_) => FileType::Directory,
                        Kind::File(_) => FileType::RegularFile,
                        Kind::Symlink(_) => FileType::Symlink,
                    };
                    reply.add(INodeNo(*child), i + 1, kind, OsStr::from_bytes(name))
                }
            };
            if full {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        const FRSIZE: u64 = 4096;
        reply.statfs(
            self.archive.len().div_ceil(FRSIZE),
            0,
            0,
            self.nodes.len() as u64,
            0,
            self.blksize,
            255,
            FRSIZE as u32,
        );
    }

    fn access(&self, _req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        // Permission bits are checked by the kernel (default_permissions); only writing is
        // refused here.
        match self.node(ino) {
            Ok(_) if mask.contains(AccessFlags::W_OK) => reply.error(Errno::EROFS),
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, _name: &OsStr, _size: u32, reply: ReplyXattr) {
        match self.node(ino) {
            Ok(_) => reply.error(Errno::ENODATA),
            Err(e) => reply.error(e),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        match self.node(ino) {
            Ok(_) if size == 0 => reply.size(0),
            Ok(_) => reply.data(&[]),
            Err(e) => reply.error(e),
        }
    }

    // Everything that would change the tree: read-only.

    fn setattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        _size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        reply.error(Errno::EROFS);
    }

    fn mknod(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn mkdir(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn unlink(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn rmdir(&self, _req: &Request, _parent: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn symlink(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &Path,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn rename(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _newparent: INodeNo,
        _newname: &OsStr,
        _flags: fuser::RenameFlags,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(Errno::EROFS);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        reply.error(Errno::EROFS);
    }

    fn create(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        reply.error(Errno::EROFS);
    }

    fn setxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }

    fn removexattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        reply.error(Errno::EROFS);
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EROFS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_names_are_short_stable_and_distinct() {
        assert_eq!(shown_name("plain"), "plain");
        let n255 = "n".repeat(255);
        assert_eq!(shown_name(&n255), n255.as_str());
        let long = "x".repeat(300);
        let s = shown_name(&long);
        assert_eq!(s.len(), NAME_MAX);
        assert!(s.starts_with(&"x".repeat(222)), "{s}");
        // Pinned: the name must be the same in every version, or paths users saved break.
        assert_eq!(&s[222..], "~296a7bce08325b75b90d23204fd50b75");
        assert_ne!(
            shown_name(&format!("{long}1")),
            shown_name(&format!("{long}2"))
        );
        // Two-byte characters after one ASCII byte: byte 222 falls inside one, so the cut
        // is at 221, and the name stays valid UTF-8.
        let e = format!("a{}", "é".repeat(200));
        let s = shown_name(&e);
        assert_eq!(s.len(), 221 + 1 + NAME_HASH_HEX);
        assert!(s.starts_with(&format!("a{}~", "é".repeat(110))), "{s}");
        let big = "r".repeat(4096);
        assert_eq!(shown_name(&big).len(), NAME_MAX);
    }
}
