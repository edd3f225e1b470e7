//! `hexz cache`: look into and empty the local cache of remote archives.

use super::Global;
use crate::size::human;
use anyhow::{bail, Context, Result};
use hexz_cache::scan::ArchiveEntry;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::UNIX_EPOCH;

pub const ABOUT: &str = "List, measure or clear the local cache of remote archives";

pub const LONG_ABOUT: &str = "\
List, measure or clear the local cache of remote archives.

With --cache-dir DIR (or HEXZ_CACHE_DIR), every reading command keeps the parts of s3:// and
http(s):// archives it reads as 8 MiB chunk files under DIR/hexz-cache-v1/, and reads them from
there next time instead of the network. Python's hexz.open(url, cache_dir=...) uses the same
layout, so the CLI, training jobs and their DataLoader workers can share one directory. Cached
chunks are keyed by the object's URL, ETag and length, so a replaced object is fetched anew;
each carries CRC-32C checksums, checked on every read, and a damaged one is refetched. The
cache is bounded (--cache-limit, default 10 GiB): least recently used chunks are evicted.

These subcommands work on --cache-dir, else HEXZ_CACHE_DIR, else ~/.cache/hexz/remote (the
directory Python's cache_dir=True uses). They touch only the cache's own files under
hexz-cache-v1/, never anything else in the directory.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz --cache-dir ~/.cache/hexz/remote cat s3://bucket/data.hxz a.txt
    HEXZ_CACHE_DIR=/scratch/hexz hexz extract s3://bucket/data.hxz out/
    hexz --cache-dir /scratch/hexz --cache-limit 50G verify s3://bucket/data.hxz
    hexz cache ls                         archives cached, their chunks, size and last use
    hexz cache du                         total size of the cache
    hexz cache clear s3://bucket/data.hxz remove one archive's chunks (URL or key prefix)
    hexz cache clear                      remove everything the cache holds
    hexz cache ls --cache-dir /scratch/hexz --json";

/// Arguments of `hexz cache`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List the cached archives, most recently used first: key, chunks, bytes, last use, URL.
    Ls {
        /// Print a JSON array of objects.
        #[arg(long)]
        json: bool,
    },
    /// Print the total size of the cache: bytes, chunks and archives.
    Du {
        /// Print bytes exactly, not rounded to KiB/MiB/GiB.
        #[arg(short = 'b', long)]
        bytes: bool,
    },
    /// Remove the cached chunks of one archive (by URL, or a key prefix from `ls`), or of all.
    Clear {
        /// The archive's URL or key prefix (4 or more hex digits); all archives when omitted.
        archive: Option<String>,
    },
}

/// The directory `hexz cache` works on: `--cache-dir`, else `HEXZ_CACHE_DIR`, else the
/// default.
fn dir(global: &Global) -> Result<PathBuf> {
    match &global.cache_dir {
        Some(d) => Ok(d.clone()),
        None => hexz_cache::default_dir()
            .context("no cache directory: pass --cache-dir or set HEXZ_CACHE_DIR (no HOME)"),
    }
}

/// Seconds since the epoch of an archive's last use (0 when it has no chunk).
fn last_used_secs(a: &ArchiveEntry) -> i64 {
    a.last_used()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs `hexz cache`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let dir = dir(global)?;
    let mut out = std::io::stdout().lock();
    match args.action {
        Action::Ls { json } => {
            let list = hexz_cache::inventory::list(&dir)?;
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|a| {
                        json!({
                            "key": a.key,
                            "url": a.meta.as_ref().map(|m| m.url.clone()),
                            "identity": a.meta.as_ref().map(|m| m.identity.clone()),
                            "object_bytes": a.meta.as_ref().map(|m| m.len),
                            "chunk_size": a.meta.as_ref().map(|m| m.chunk_size),
                            "chunks": a.chunks.len(),
                            "bytes": a.bytes(),
                            "last_used": a.last_used().map(|_| {
                                super::ls::iso8601(last_used_secs(a) * 1_000_000_000)
                            }),
                        })
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &items)?;
                writeln!(out)?;
                return Ok(());
            }
            if list.is_empty() {
                if !global.quiet {
                    writeln!(out, "nothing cached in {}", dir.display())?;
                }
                return Ok(());
            }
            writeln!(
                out,
                "{:<12} {:>7} {:>10} {:<20} URL",
                "KEY", "CHUNKS", "SIZE", "LAST USE"
            )?;
            for a in &list {
                let used = match a.last_used() {
                    Some(_) => super::ls::iso8601(last_used_secs(a) * 1_000_000_000),
                    None => "-".into(),
                };
                let url = a.meta.as_ref().map_or("(unknown)", |m| m.url.as_str());
                writeln!(
                    out,
                    "{:<12} {:>7} {:>10} {:<20} {url}",
                    &a.key[..12],
                    a.chunks.len(),
                    human(a.bytes()),
                    used
                )?;
            }
        }
        Action::Du { bytes } => {
            let u = hexz_cache::inventory::usage(&dir)?;
            let size = if bytes {
                u.bytes.to_string()
            } else {
                human(u.bytes)
            };
            writeln!(
                out,
                "{size}\t{} ({} chunks, {} archives)",
                dir.display(),
                u.chunks,
                u.archives
            )?;
        }
        Action::Clear { archive } => {
            if let Some(w) = &archive {
                if !hexz_store::is_url(w)
                    && (w.len() < 4 || !w.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    bail!("{w:?} is neither a URL nor a key prefix of 4 or more hex digits (see `hexz cache ls`)");
                }
            }
            let removed = hexz_cache::inventory::clear(&dir, archive.as_deref())?;
            if let (Some(w), true) = (&archive, removed.is_empty()) {
                bail!("no cached archive matches {w} in {}", dir.display());
            }
            if !global.quiet {
                let bytes: u64 = removed.iter().map(ArchiveEntry::bytes).sum();
                writeln!(
                    out,
                    "removed {} archive(s), {} from {}",
                    removed.len(),
                    human(bytes),
                    dir.display()
                )?;
            }
        }
    }
    Ok(())
}
