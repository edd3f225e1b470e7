//! Real FUSE mounts in tests: whether this process may mount, and which mount points it sees.

use std::fs;
use std::path::{Path, PathBuf};

/// Whether real mounts can run here. Not root: false, with a message on stderr (the test then
/// skips; CI runs as root). Root without `/dev/fuse`: a panic that says what is missing.
pub fn can_mount() -> bool {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: mounting needs root (CI runs these tests as root)");
        return false;
    }
    if let Err(e) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        panic!("running as root but /dev/fuse cannot be opened ({e}): load the fuse module");
    }
    true
}

/// The mount points of this process's mount namespace (`/proc/self/mountinfo`, where a space
/// is written `\040`).
pub fn mount_points() -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .collect()
}

/// Whether `path` (canonicalized when it exists) is a mount point.
pub fn is_mounted(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mount_points().contains(&path)
}
