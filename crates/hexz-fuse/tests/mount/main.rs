//! Real mounts of packed trees and images, read back through the kernel: contents, modes,
//! mtimes and symlinks against the source, a raw image with `qemu-img compare`, `EIO` for a
//! corrupt block, concurrent reader processes, mountpoint errors and unmounting. Every test
//! checks that its mount is gone from /proc/self/mountinfo afterwards.
//!
//! They need root and /dev/fuse: as root a missing /dev/fuse fails the test; as another user
//! they are skipped with a message.
#![cfg(target_os = "linux")]

mod util;

mod concurrency;
mod mounting;
mod names;
mod reading;
