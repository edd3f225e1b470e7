//! One module per subcommand; each has its clap `Args`, help texts and a `run` function.

pub mod cat;
pub mod extract;
pub mod inspect;
pub mod ls;
pub mod pack;
pub mod verify;

use anyhow::Result;
use hexz_core::{Archive, ReadOptions};
use std::path::Path;

/// Options shared by every subcommand.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    /// Print nothing but errors.
    pub quiet: bool,
}

/// Opens a local archive; the engine's errors already name the file.
fn open(path: &Path, options: ReadOptions) -> Result<Archive> {
    Ok(Archive::open_with_options(path, options)?)
}
