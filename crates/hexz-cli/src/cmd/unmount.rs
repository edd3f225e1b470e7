//! `hexz unmount`: unmount an archive mounted with `hexz mount`.

use super::Global;
use anyhow::Result;
use std::path::PathBuf;

pub const ABOUT: &str = "Unmount an archive mounted with `hexz mount`";

pub const LONG_ABOUT: &str = "\
Unmount an archive mounted with `hexz mount`; the process serving it (the foreground command or
the --daemon process) then exits.

Only hexz mounts are unmounted: anything else at MOUNTPOINT is an error, and so is nothing. While
a process has a file open or its working directory under the mount, unmounting fails as busy;
--lazy detaches it at once instead: it disappears from the tree now, open files keep reading, and
it goes away when the last of them is closed. Unmounting needs root, or fusermount3 (package
fuse3) for a mount made by another user.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz unmount /mnt/photos
    hexz unmount --lazy /mnt/photos     detach now even while files are open";

/// Arguments of `hexz unmount`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the archive is mounted.
    mountpoint: PathBuf,
    /// Detach now even if busy; the mount goes away when its last open file is closed.
    #[arg(short, long)]
    lazy: bool,
}

/// Runs `hexz unmount`.
pub fn run(args: Args, _global: &Global) -> Result<()> {
    if args.lazy {
        hexz_fuse::unmount_lazy(&args.mountpoint)?;
    } else {
        hexz_fuse::unmount(&args.mountpoint)?;
    }
    Ok(())
}
