//! The `fuser::Filesystem` implementation of [`HexzFs`]: every request is answered from the
//! immutable inode table or by reading through the engine; anything that would write is
//! refused with `EROFS`.

use super::inodes::Kind;
use super::watch::changed_error;
use super::HexzFs;
use crate::sys;
use fuser::{
    AccessFlags, Errno, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    InitFlags, KernelConfig, LockOwner, OpenAccMode, OpenFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr,
    Request, TimeOrNow, WriteFlags,
};
use std::cell::RefCell;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

/// How long the kernel may cache attributes, names and missing names: the archive never
/// changes while mounted.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest read the kernel sends with `FUSE_MAX_PAGES` (its default page limit is 1 MiB);
/// bigger requests are served anyway, this only sizes the reused buffers.
const READ_BUF: usize = 1 << 20;
/// Longest symlink target `readlink(2)` can return through FUSE: the kernel's `PATH_MAX`
/// counts the terminating NUL, so a 4,096-byte target (legal in an archive) does not fit.
const TARGET_MAX: usize = 4095;

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
            Ok(Kind::File(_)) if flags.0 & sys::O_TRUNC != 0 => reply.error(Errno::EROFS),
            // No more OPEN requests: one round trip less per file opened.
            Ok(Kind::File(_)) if self.no_open => reply.error(Errno::ENOSYS),
            // The archive never changes: keep the page cache across opens.
            Ok(Kind::File(_)) => reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE),
            Ok(Kind::Dir(_)) => reply.error(Errno::EISDIR),
            Ok(Kind::Symlink(_)) => reply.error(Errno::ELOOP),
            // Device nodes and FIFOs are opened by the kernel itself (FUSE mounts are
            // `nodev`): nothing of theirs is in the archive to read.
            Ok(Kind::Special(_)) => reply.error(Errno::ENXIO),
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
            Ok(Kind::Symlink(_) | Kind::Special(_)) => return reply.error(Errno::EINVAL),
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
                Some(w) if w.changed.load(Ordering::Relaxed) => {
                    Err(changed_error(self.archive.name()))
                }
                _ => self.read_into(entry, offset, &mut b[..want]),
            };
            // Checked after the read: only then does an unchanged file vouch for its bytes.
            let read = match (&self.watch, read) {
                (Some(w), Ok(_)) if !w.unchanged() => Err(changed_error(self.archive.name())),
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
                    let kind = self.nodes[*child as usize - 1].kind.file_type();
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

    /// The extended attributes the archive records (§7.6); `size` 0 asks for the length.
    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let n = match self.node(ino) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        let xattrs = n.attrs.as_deref().map_or(&[][..], |a| &a.xattrs[..]);
        match xattrs.iter().find(|(k, _)| k[..] == *name.as_bytes()) {
            None => reply.error(Errno::ENODATA),
            Some((_, v)) if size == 0 => reply.size(v.len() as u32),
            Some((_, v)) if v.len() > size as usize => reply.error(Errno::ERANGE),
            Some((_, v)) => reply.data(v),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let n = match self.node(ino) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        let xattrs = n.attrs.as_deref().map_or(&[][..], |a| &a.xattrs[..]);
        // Names, each followed by a NUL.
        let list: Vec<u8> = xattrs
            .iter()
            .flat_map(|(k, _)| k.iter().copied().chain([0]))
            .collect();
        match size {
            0 => reply.size(list.len() as u32),
            s if list.len() > s as usize => reply.error(Errno::ERANGE),
            _ => reply.data(&list),
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
