//! `hexz verify`: read and check every byte of an archive.

use super::Global;
use crate::progress;
use anyhow::{bail, Result};
use hexz_core::ReadOptions;
use std::io::Write;
use std::path::PathBuf;

pub const ABOUT: &str =
    "Check every block and table of an archive (exit 0 when intact, 1 when not)";

pub const LONG_ABOUT: &str = "\
Check every block and table of an archive.

Reads every stored byte and checks it against its CRC-32C and BLAKE3 hash from the index: the
header, the summary, every index page, table and block. Prints `OK: ...` and exits 0 when the
archive is intact; prints each problem on stderr and exits 1 when it is not (also when it is too
damaged to open).";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz verify data.hxz
    hexz verify -q data.hxz && echo intact";

/// Arguments of `hexz verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
}

/// Runs `hexz verify`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let options = ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    let archive = super::open(&args.archive, options, global)?;
    let bar = progress::bytes(
        progress::wanted(global.quiet),
        Some(archive.len()),
        "verifying",
    );
    let report = hexz_core::verify::verify(&archive, &|n| bar.set_position(n));
    bar.finish_and_clear();
    let report = report?;
    if report.is_ok() {
        if !global.quiet {
            writeln!(
                std::io::stdout(),
                "OK: {} blocks, {} bytes verified",
                report.blocks,
                report.bytes
            )?;
        }
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    for p in &report.problems {
        let _ = writeln!(err, "hexz: {}: {p}", args.archive.display());
    }
    bail!(
        "{} is damaged: {} problem{} found",
        args.archive.display(),
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" }
    )
}
