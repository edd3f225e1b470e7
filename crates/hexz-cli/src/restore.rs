//! What `hexz extract` restores beyond mode, mtime and symlink targets, from an archive's file
//! attributes (`docs/FORMAT.md` §7.6): owners (as root, as tar does), extended attributes
//! (ACLs included), access times, device nodes, FIFOs and sockets, and hard links. What cannot
//! be restored (a device node or a `trusted.*` attribute without root) is a warning, not a
//! failure: the files themselves are what the user asked for.

use hexz_core::{Entry, EntryKind, FileAttrs};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The attributes of the entries being extracted, and what was restored so far.
pub struct Restorer {
    /// The archive's entries (sorted by path) and their attributes, as `Archive` holds them.
    entries: Arc<[Entry]>,
    attrs: Arc<[FileAttrs]>,
    /// Owners are set only by root (a user cannot give files away).
    as_root: bool,
    /// The first extracted path of each hard-link group.
    links: HashMap<u64, PathBuf>,
    /// What could not be restored, one line each.
    pub warnings: Vec<String>,
}

impl Restorer {
    /// For all `entries` of an archive and their attributes `attrs` (one per entry, or none
    /// at all: `Archive::entries` and `Archive::file_attrs`).
    pub fn new(entries: Arc<[Entry]>, attrs: Arc<[FileAttrs]>) -> Restorer {
        Restorer {
            entries,
            attrs,
            as_root: is_root(),
            links: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    /// The attributes of `entry`, if the archive records any.
    pub fn of(&self, entry: &Entry) -> Option<&FileAttrs> {
        attrs_of(&self.entries, &self.attrs, entry)
    }

    /// The access time to set on `entry`, when recorded.
    pub fn atime_ns(&self, entry: &Entry) -> Option<i64> {
        self.of(entry).and_then(|a| a.atime_ns)
    }

    /// An earlier extracted name of the file `entry` is a hard link to.
    pub fn earlier_link(&self, entry: &Entry) -> Option<&Path> {
        let group = self.of(entry).map_or(0, |a| a.link_group);
        (group != 0)
            .then(|| self.links.get(&group))
            .flatten()
            .map(PathBuf::as_path)
    }

    /// Remembers that `entry` was extracted at `path` (the first name of its link group).
    pub fn extracted(&mut self, entry: &Entry, path: &Path) {
        let group = self.of(entry).map_or(0, |a| a.link_group);
        if group != 0 {
            self.links
                .entry(group)
                .or_insert_with(|| path.to_path_buf());
        }
    }

    /// Sets `path`'s owner (as root) and extended attributes, not following a symlink; then,
    /// as root, the setuid and setgid bits (which a change of owner clears, and which only root
    /// restores, as tar does).
    pub fn apply(&mut self, entry: &Entry, path: &Path) {
        let attrs = Arc::clone(&self.attrs);
        if let Some(a) = attrs_of(&self.entries, &attrs, entry) {
            if let (true, Some((uid, gid))) = (self.as_root, a.owner) {
                if let Err(e) = chown(path, uid, gid) {
                    self.warn(path, &format!("cannot set its owner to {uid}:{gid}"), e);
                }
            }
            for (name, value) in &a.xattrs {
                if let Err(e) = set_xattr(path, name, value) {
                    let name = String::from_utf8_lossy(name);
                    self.warn(
                        path,
                        &format!("cannot set the extended attribute {name}"),
                        e,
                    );
                }
            }
        }
        let setid = entry.mode & 0o6000 != 0;
        if self.as_root && setid && matches!(entry.kind, EntryKind::File | EntryKind::Dir) {
            if let Err(e) = set_full_mode(path, entry.mode) {
                self.warn(path, "cannot set its setuid or setgid bit", e);
            }
        }
    }

    /// Makes the device node, FIFO or socket `entry` at `path` (a fresh name). Without root,
    /// a device node is a warning and `Ok(false)`.
    pub fn make_special(&mut self, entry: &Entry, path: &Path) -> io::Result<bool> {
        let rdev = self.of(entry).map_or((0, 0), |a| a.rdev);
        match make_node(path, entry.kind, entry.mode, rdev) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                let what = "cannot create the device node (creating devices needs root)";
                self.warn(path, what, e);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn warn(&mut self, path: &Path, what: &str, e: io::Error) {
        self.warnings
            .push(format!("{}: {what}: {e}", path.display()));
    }
}

/// The attributes of `entry` among `entries` (sorted by path), when it has any.
fn attrs_of<'a>(entries: &[Entry], attrs: &'a [FileAttrs], entry: &Entry) -> Option<&'a FileAttrs> {
    let i = entries
        .binary_search_by(|e| e.path.as_bytes().cmp(entry.path.as_bytes()))
        .ok()?;
    attrs.get(i).filter(|a| !a.is_empty())
}

#[cfg(unix)]
fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[cfg(unix)]
fn chown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    use nix::unistd::{fchownat, Gid, Uid};
    fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(io::Error::from)
}

#[cfg(unix)]
fn set_full_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
}

#[cfg(unix)]
fn set_xattr(path: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    // `xattr::set` does not follow a symlink at the last component.
    xattr::set(path, std::ffi::OsStr::from_bytes(name), value)
}

#[cfg(unix)]
fn make_node(path: &Path, kind: EntryKind, mode: u32, rdev: (u32, u32)) -> io::Result<()> {
    use nix::sys::stat::{makedev, mknod, Mode, SFlag};
    let perm = Mode::from_bits_truncate(mode & 0o777);
    let (flag, dev) = match kind {
        EntryKind::CharDevice => (SFlag::S_IFCHR, makedev(rdev.0.into(), rdev.1.into())),
        EntryKind::BlockDevice => (SFlag::S_IFBLK, makedev(rdev.0.into(), rdev.1.into())),
        EntryKind::Fifo => (SFlag::S_IFIFO, 0),
        EntryKind::Socket => (SFlag::S_IFSOCK, 0),
        _ => return Err(io::Error::other("not a device, FIFO or socket")),
    };
    mknod(path, flag, perm, dev).map_err(io::Error::from)
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

#[cfg(not(unix))]
fn chown(_: &Path, _: u32, _: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn set_full_mode(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn set_xattr(_: &Path, _: &[u8], _: &[u8]) -> io::Result<()> {
    Err(io::Error::other("extended attributes need a unix system"))
}

#[cfg(not(unix))]
fn make_node(_: &Path, _: EntryKind, _: u32, _: (u32, u32)) -> io::Result<()> {
    Err(io::Error::other(
        "device nodes, FIFOs and sockets need a unix system",
    ))
}
