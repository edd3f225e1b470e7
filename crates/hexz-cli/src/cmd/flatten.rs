//! `hexz flatten`: a self-contained copy of an archive, whose blocks all live in it: a thin
//! archive's parent-held blocks are read through its chain and stored.

use super::pack::{create_sink, Codec};
use super::Global;
use crate::{progress, size};
use anyhow::{bail, Context, Result};
use hexz_core::{ArchiveWriter, ReadOptions, WriteOptions};
use std::path::PathBuf;
use std::time::Instant;

pub const ABOUT: &str = "Write a self-contained copy of a thin archive (no parents needed)";

pub const LONG_ABOUT: &str = "\
Write a self-contained copy of an archive: every entry with its attributes, every record and
the metadata, with all blocks stored in the copy. For a thin archive (packed with --parent)
the blocks its parents hold are read through the chain, which must be reachable (see
--parent-path). The copy uses the source's block size and is written atomically, to a path
or s3:// URL; a key given with --key-file or --password-file (or the environment) opens an
encrypted source and, with --encrypt, encrypts the copy.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz flatten v3.hxz v3-full.hxz
    hexz flatten -c zstd --parent-path /old/v1.hxz v2.hxz s3://bucket/v2.hxz";

/// Arguments of `hexz flatten`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive to copy: a path, or an s3://, http:// or https:// URL.
    input: PathBuf,
    /// The self-contained copy (replaced atomically when it exists), or s3://bucket/key.
    output: PathBuf,
    /// Block codec of the copy.
    #[arg(short, long, value_enum, default_value_t = Codec::Lz4)]
    compression: Codec,
    /// Compression level (zstd only: 1 to 19).
    #[arg(short, long, value_name = "N")]
    level: Option<i32>,
    /// Encrypt the copy with the key that opens the source.
    #[arg(long)]
    encrypt: bool,
}

/// Runs `hexz flatten`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    if args.input == args.output {
        bail!("the copy would replace its source; write it elsewhere");
    }
    let compression = super::pack::compression(args.compression, args.level)?;
    let src = super::open(&args.input, ReadOptions::default(), global)?;
    let encryption = match (args.encrypt, global.key()?) {
        (false, _) => None,
        (true, Some(key)) => Some(hexz_core::Encryption::new(key)),
        (true, None) => bail!("--encrypt needs the key: pass --key-file or --password-file"),
    };
    let options = WriteOptions {
        compression,
        block_size: src.header().block_size,
        encryption,
        ..WriteOptions::default()
    };
    let start = Instant::now();
    let bar = progress::bytes(
        progress::wanted(global.quiet),
        Some(src.len()),
        "flattening",
    );
    let sink = create_sink(&args.output, &global.s3)?;
    let mut w = ArchiveWriter::with_sink(sink, options)?;
    let shown = bar.clone();
    w.on_progress(move |n| shown.set_position(n));
    hexz_core::copy::copy_archive(&src, &mut w)
        .with_context(|| format!("cannot copy {}", args.input.display()))?;
    let report = w.finish()?;
    bar.finish_and_clear();
    if !global.quiet {
        eprintln!(
            "flattened {} into {} ({}) in {:.2} s: {} entries, {} records",
            size::human(report.logical_size),
            args.output.display(),
            size::human(report.file_len),
            start.elapsed().as_secs_f64(),
            report.entries,
            report.records
        );
    }
    Ok(())
}
