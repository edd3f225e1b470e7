//! `hexz cat`: write the logical stream, or one entry, or a byte range of either, to stdout.

use super::Global;
use crate::size;
use crate::stdout::RawStdout;
use anyhow::{bail, Context, Result};
use hexz_core::{Archive, EntryKind, ReadOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

pub const ABOUT: &str = "Write an entry, or the whole logical stream, to standard output";

pub const LONG_ABOUT: &str = "\
Write an entry, or the whole logical stream, to standard output.

Without ENTRY, writes the archive's logical stream: the data of every entry and record, in the
order they were packed. --offset and --length select a byte range, relative to the entry when one
is named (a range past the end is cut short at the end).";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz cat data.hxz docs/readme.txt
    hexz cat vm.hxz disk > disk.img                    restore a raw disk image
    hexz cat --offset 1M --length 4K vm.hxz disk | xxd  inspect 4 KiB at 1 MiB
    hexz cat data.hxz | sha256sum                       hash the whole stream";

/// Arguments of `hexz cat`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
    /// The entry to write (a file or stream); the whole logical stream when omitted.
    entry: Option<String>,
    /// Start this many bytes in (e.g. 4096, 64K, 1M).
    #[arg(long, value_name = "N", value_parser = size::parse, default_value = "0")]
    offset: u64,
    /// Write at most this many bytes (e.g. 4096, 64K, 1M).
    #[arg(long, value_name = "N", value_parser = size::parse)]
    length: Option<u64>,
}

/// Bytes read and written per step; two steps are in flight at once.
const CHUNK: usize = 8 << 20;

/// Runs `hexz cat`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    // Reads are large and pipelined here, so the engine's own read-ahead would only compete.
    let options = ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    let archive = super::open(&args.archive, options, global)?;
    let (base, size) = match &args.entry {
        None => (0, archive.len()),
        Some(name) => {
            let e = archive.entry(name)?.with_context(|| {
                format!("no entry named {name:?} in {}", args.archive.display())
            })?;
            match e.kind {
                EntryKind::File | EntryKind::Stream => (e.data_offset, e.size),
                EntryKind::Dir => bail!("{name} is a directory"),
                EntryKind::Symlink => {
                    bail!("{name} is a symlink to {}", e.target.unwrap_or_default())
                }
                kind => bail!("{name} is a {} and holds no data", kind.name()),
            }
        }
    };
    if args.offset > size {
        bail!("offset {} is past the end ({size} bytes)", args.offset);
    }
    let avail = size - args.offset;
    let len = args.length.map_or(avail, |l| l.min(avail));
    copy(&archive, base + args.offset, len)
}

/// Copies `len` bytes at logical `start` to stdout: one thread reads (and decodes, in parallel)
/// the next chunk while this one writes the previous.
fn copy(archive: &Archive, start: u64, len: u64) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let mut out = RawStdout::open().context("cannot open standard output")?;
    let end = start + len;
    std::thread::scope(|s| {
        let (full_tx, full_rx) = sync_channel::<hexz_core::Result<Vec<u8>>>(1);
        let (free_tx, free_rx) = sync_channel::<Vec<u8>>(3);
        let buffers = (len.div_ceil(CHUNK as u64)).min(3);
        for _ in 0..buffers {
            let _ = free_tx.send(Vec::new());
        }
        s.spawn(move || {
            let mut pos = start;
            while pos < end {
                // Channels close when the writer stops (e.g. a closed pipe): stop too.
                let Ok(mut buf) = free_rx.recv() else { return };
                let n = (end - pos).min(CHUNK as u64) as usize;
                buf.resize(n, 0);
                let r = archive.read_exact_at(pos, &mut buf).map(|()| buf);
                let failed = r.is_err();
                if full_tx.send(r).is_err() || failed {
                    return;
                }
                pos += n as u64;
            }
        });
        for chunk in full_rx {
            let buf = chunk?;
            out.write_all(&buf)?;
            let _ = free_tx.send(buf);
        }
        Ok(())
    })
}
