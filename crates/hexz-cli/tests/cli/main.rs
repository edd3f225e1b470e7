//! Integration tests of the `hexz` binary, one module per feature. Unix only: they check
//! permission bits, symlinks and signals.
#![cfg(unix)]

mod util;

mod cat;
mod extract;
mod inspect;
mod interrupt;
mod misuse;
mod pipe;
mod roundtrip;
mod verify;
