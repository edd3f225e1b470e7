//! Integration tests of the `hexz` binary, one module per feature. Unix only: they check
//! permission bits, symlinks and signals.
#![cfg(unix)]

/// The real servers (nginx, moto_server) on 127.0.0.1 that every crate's tests start.
use hexz_testkit::servers;
mod util;

mod cache;
mod cat;
mod chunking;
mod encrypt;
mod extract;
mod fuzz_extract;
mod hostile;
mod inspect;
mod interrupt;
mod misuse;
#[cfg(all(feature = "fuse", target_os = "linux"))]
mod mount;
mod pipe;
mod remote;
mod roundtrip;
mod s3;
mod serve;
mod sign;
mod snapshot;
mod thin;
mod verify;
