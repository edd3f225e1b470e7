//! Integration tests of the `hexz` binary, one module per feature.

mod util;

mod cat;
mod extract;
mod inspect;
mod interrupt;
mod misuse;
mod pipe;
mod roundtrip;
mod verify;
