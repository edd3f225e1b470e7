//! One module per subcommand; each has its clap `Args`, help texts and a `run` function.

pub mod cat;
pub mod extract;
pub mod inspect;
pub mod ls;
#[cfg(all(feature = "fuse", target_os = "linux"))]
pub mod mount;
pub mod pack;
pub mod serve;
#[cfg(all(feature = "fuse", target_os = "linux"))]
pub mod unmount;
pub mod verify;

use anyhow::Result;
use hexz_core::{Archive, ReadOptions};
use hexz_store::S3Options;
use std::path::Path;

/// Options shared by every subcommand.
#[derive(Debug, Clone)]
pub struct Global {
    /// Print nothing but errors.
    pub quiet: bool,
    /// Settings for `s3://` URLs from the command line (over the AWS environment).
    pub s3: S3Options,
}

/// Opens an archive: a local path, or an `s3://`, `http://` or `https://` URL. The errors
/// already name the file or URL.
fn open(path: &Path, options: ReadOptions, global: &Global) -> Result<Archive> {
    match path.to_str().filter(|s| hexz_store::is_url(s)) {
        Some(url) => {
            let store = hexz_store::open_url_with(url, &global.s3)?;
            // Commands turn read-ahead off where it would compete with their own parallel
            // decoding of local files; over a network it is what keeps the link busy.
            let options = ReadOptions {
                readahead_threads: options
                    .readahead_threads
                    .max(ReadOptions::default().readahead_threads),
                ..options
            };
            Ok(Archive::open_store(store, options)?)
        }
        None => Ok(Archive::open_with_options(path, options)?),
    }
}
