//! What a local file system says about an entry beyond mode and mtime, for
//! [`WriteOptions::file_attrs`](super::WriteOptions::file_attrs): owners and their names,
//! extended attributes, device numbers, and which paths are one file (hard links).

use hexz_format::FileAttrs;
use std::collections::HashMap;
use std::path::Path;

/// Owner names resolved once per id, and the first path seen of each multiply-linked file.
#[derive(Default)]
pub(super) struct Capture {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
    /// (device, inode) of a file with more than one link → the entry path first added for it.
    linked: HashMap<(u64, u64), String>,
}

#[cfg(unix)]
impl Capture {
    /// The attributes of `path` (not following a symlink) as its metadata `md` and its
    /// extended attributes say; access and change times only when `times`.
    pub(super) fn attrs(&mut self, path: &Path, md: &std::fs::Metadata, times: bool) -> FileAttrs {
        use std::os::unix::fs::MetadataExt;
        let (uid, gid) = (md.uid(), md.gid());
        let user = name_of(&mut self.users, uid, |id| {
            nix::unistd::User::from_uid(id.into()).map(|u| u.map(|u| u.name))
        });
        let group = name_of(&mut self.groups, gid, |id| {
            nix::unistd::Group::from_gid(id.into()).map(|g| g.map(|g| g.name))
        });
        let ft = md.file_type();
        let is_device = {
            use std::os::unix::fs::FileTypeExt;
            ft.is_block_device() || ft.is_char_device()
        };
        let rdev = match is_device {
            true => (
                nix::sys::stat::major(md.rdev()) as u32,
                nix::sys::stat::minor(md.rdev()) as u32,
            ),
            false => (0, 0),
        };
        FileAttrs {
            owner: Some((uid, gid)),
            names: Some((user, group)),
            atime_ns: times.then(|| md.atime() * 1_000_000_000 + md.atime_nsec()),
            ctime_ns: times.then(|| md.ctime() * 1_000_000_000 + md.ctime_nsec()),
            rdev,
            link_group: 0,
            xattrs: xattrs_of(path),
        }
    }

    /// For a regular file with more than one link: the entry path of the same file added
    /// earlier, if any; otherwise remembers `entry` as its first path.
    pub(super) fn earlier_link(&mut self, md: &std::fs::Metadata, entry: &str) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        if md.nlink() < 2 {
            return None;
        }
        match self.linked.entry((md.dev(), md.ino())) {
            std::collections::hash_map::Entry::Occupied(first) => Some(first.get().clone()),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(entry.to_string());
                None
            }
        }
    }
}

/// The name of id `id`, looked up once (empty when the system has none for it).
#[cfg(unix)]
fn name_of(
    cache: &mut HashMap<u32, String>,
    id: u32,
    lookup: impl FnOnce(u32) -> nix::Result<Option<String>>,
) -> String {
    cache
        .entry(id)
        .or_insert_with(|| lookup(id).ok().flatten().unwrap_or_default())
        .clone()
}

/// The extended attributes of `path` (its own, not a symlink target's), sorted by name.
/// Names or values that cannot be read are left out: the file system said they exist, but a
/// snapshot cannot keep what it cannot read.
#[cfg(unix)]
fn xattrs_of(path: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(names) = xattr::list(path) else {
        return Vec::new();
    };
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = names
        .filter_map(|name| {
            let value = xattr::get(path, &name).ok().flatten()?;
            let name = name.as_bytes().to_vec();
            (name.len() <= hexz_format::attrs::MAX_XATTR_NAME
                && value.len() <= hexz_format::attrs::MAX_XATTR_VALUE)
                .then_some((name, value))
        })
        .collect();
    out.sort();
    out
}

#[cfg(not(unix))]
impl Capture {
    pub(super) fn attrs(&mut self, _: &Path, _: &std::fs::Metadata, _: bool) -> FileAttrs {
        FileAttrs::default()
    }

    pub(super) fn earlier_link(&mut self, _: &std::fs::Metadata, _: &str) -> Option<String> {
        None
    }
}
