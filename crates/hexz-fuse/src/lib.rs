//! Read-only FUSE mounts of `.hxz` archives.
//!
//! [`mount_background`] mounts an open [`Archive`] on an empty directory and returns once the
//! mount answers; the kernel's requests are served by a pool of threads until the returned
//! [`MountHandle`] is unmounted or dropped, or until the mount is unmounted from outside
//! ([`unmount`], `umount`). Entries appear as files, directories and symlinks with their mode
//! and mtime; raw streams (`disk`, `memory`) appear as regular files.
//!
//! Reads go through [`Archive::read_entry_at`], so the engine's block cache, read-ahead and
//! integrity checks apply: a block that fails its checks is an `EIO` for that read, never
//! wrong bytes. Files are opened with `FOPEN_KEEP_CACHE` and attributes and names are cached
//! for a day, since a mounted archive never changes.
//!
//! Names: an archive path component may be up to 4,096 bytes, the kernel takes 255
//! ([`NAME_MAX`]). A longer component is listed, and looked up, under [`shown_name`]: its first
//! 222 bytes or fewer (cut at a UTF-8 boundary), `~`, and 32 hex digits of the BLAKE3 hash of the
//! whole component; 255 bytes at most, the same in every mount, distinct for distinct names.
//! Should that equal a real name in the same directory, the real name wins and the long entry
//! is left out ([`HexzFs::hidden`]; a warning with `log_errors`). A symlink target of 4,096
//! bytes (no room for the kernel's NUL) lists and stats, and `readlink` answers `ENAMETOOLONG`.
//! Nothing else an archive may hold (UTF-8 names without NUL, `/`, `.` or `..`) needs care.
//!
//! The archive file while mounted: replacing it by `rename` (as hexz's writers do) leaves the
//! mount reading the file it opened, with the old contents. Writing, truncating or touching
//! it in place changes its length or mtime, and from then on every read answers `EIO` (unmount
//! and mount again): a read never mixes in new bytes. Reads go through `pread`, never through a
//! memory map, so a truncated file cannot raise `SIGBUS`.
//!
//! Mounting calls `mount(2)` directly (as root, no libfuse or `fusermount` needed); without
//! the privilege it falls back to `fusermount3`, as libfuse does. Linux only: elsewhere the
//! crate is empty.
//!
//! [`Archive`]: hexz_core::Archive
//! [`Archive::read_entry_at`]: hexz_core::Archive::read_entry_at
#![cfg(target_os = "linux")]
// Every system call goes through `nix` (see `sys`): no `unsafe` anywhere in the crate.
#![forbid(unsafe_code)]

/// The one error type of the crate.
mod error;
/// The FUSE file system itself: inode table, names, requests.
mod fs;
/// The handle of a running mount, and how it ends.
mod handle;
/// Mounting an archive in the background: options, `mount(2)` or `fusermount3`.
mod mount;
pub mod mountinfo;
/// The raw system calls (mount, umount, statfs, signal mask, ids), through `nix`.
mod sys;
/// Unmounting from outside a mount's process, and a mount's own unmount while busy.
mod unmount;

pub use error::{Error, Result};
pub use fs::{shown_name, HexzFs, NAME_MAX};
pub use handle::MountHandle;
pub use mount::{mount_background, MountOptions};
pub use unmount::{find_mount, unmount, unmount_lazy};
