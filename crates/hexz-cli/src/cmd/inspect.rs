//! `hexz inspect`: what an archive holds and how it is stored.

use super::Global;
use crate::size::human;
use anyhow::Result;
use hexz_core::{Archive, Codec, EntryKind, ReadOptions, RecordGroup};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

pub const ABOUT: &str = "Show an archive's format, sizes, codec mix and contents summary";

pub const LONG_ABOUT: &str = "\
Show an archive's format, sizes, codec mix and contents summary.

Reads the header, the summary and the block index (not the data): format version and feature
bits, block size, archive id, file and logical sizes and their ratio, how many blocks are stored,
all-zero holes or duplicates of an earlier block, the codec of each block, entry and record
counts, and the root hash that covers every byte of the archive.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz inspect data.hxz
    hexz info data.hxz --json | jq .ratio";

/// Arguments of `hexz inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Block statistics of one codec.
#[derive(Debug, Default, Clone, Copy)]
struct CodecStats {
    blocks: u64,
    raw_bytes: u64,
    stored_bytes: u64,
}

/// The codecs in display order.
const CODECS: [Codec; 4] = [Codec::Lz4, Codec::Zstd, Codec::None, Codec::Zero];

/// Everything `inspect` shows.
struct Report {
    archive: String,
    required: Vec<String>,
    optional: Vec<String>,
    block_size: u32,
    archive_id: String,
    file_size: u64,
    logical_size: u64,
    stored_data_bytes: u64,
    blocks: u64,
    stored_blocks: u64,
    zero_blocks: u64,
    dedup_blocks: u64,
    codecs: [CodecStats; 4],
    entries: [usize; 4],
    records: u64,
    groups: Vec<RecordGroup>,
    metadata: bool,
    signed: bool,
    root_hash: String,
}

/// Entry kinds in display order.
const KINDS: [(EntryKind, &str); 4] = [
    (EntryKind::File, "files"),
    (EntryKind::Dir, "dirs"),
    (EntryKind::Symlink, "symlinks"),
    (EntryKind::Stream, "streams"),
];

/// Runs `hexz inspect`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let options = ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    let archive = super::open(&args.archive, options, global)?;
    let report = Report::collect(&archive)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", report.json())?;
    } else {
        report.print(&mut out)?;
    }
    Ok(())
}

impl Report {
    /// Reads the header, summary, index and entries table of `a` (no block data).
    fn collect(a: &Archive) -> Result<Report> {
        let header = a.header();
        let summary = a.summary();
        let mut codecs = [CodecStats::default(); 4];
        let (mut zero, mut dedup, mut stored) = (0, 0, 0);
        // Duplicates share the stored bytes of the first block with the same content.
        let mut seen = HashSet::new();
        for b in a.blocks() {
            let b = b?;
            let slot = CODECS.iter().position(|&c| c == b.codec).unwrap_or(2);
            let c = &mut codecs[slot];
            c.blocks += 1;
            c.raw_bytes += b.raw_len as u64;
            if b.codec == Codec::Zero {
                zero += 1;
            } else if seen.insert(b.stored_offset) {
                stored += 1;
                c.stored_bytes += b.stored_len as u64;
            } else {
                dedup += 1;
            }
        }
        let all = a.entries()?;
        let entries = KINDS.map(|(k, _)| all.iter().filter(|e| e.kind == k).count());
        Ok(Report {
            archive: a.name().to_string(),
            required: header.required.names(),
            optional: header.optional.names(),
            block_size: header.block_size,
            archive_id: hex(&header.archive_id),
            file_size: a.file_len(),
            logical_size: a.len(),
            stored_data_bytes: summary.stored_data_bytes,
            blocks: summary.block_count,
            stored_blocks: stored,
            zero_blocks: zero,
            dedup_blocks: dedup,
            codecs,
            entries,
            records: a.record_count(),
            groups: a.record_groups()?.to_vec(),
            metadata: !summary.metadata.is_absent(),
            signed: a.footer().signature_offset.is_some(),
            root_hash: hex(&a.root_hash()?),
        })
    }

    fn ratio(&self) -> f64 {
        self.logical_size as f64 / self.file_size.max(1) as f64
    }

    /// The `--json` object; its keys are stable.
    fn json(&self) -> Value {
        let codecs: serde_json::Map<String, Value> = CODECS
            .iter()
            .zip(&self.codecs)
            .map(|(codec, s)| {
                let v = json!({
                    "blocks": s.blocks,
                    "raw_bytes": s.raw_bytes,
                    "stored_bytes": s.stored_bytes,
                });
                (codec.name().to_string(), v)
            })
            .collect();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                json!({
                    "name": g.name,
                    "dtype": g.dtype.name(),
                    "shape": g.shape,
                    "count": g.record_count,
                })
            })
            .collect();
        let mut v = json!({
            "archive": self.archive,
            "format_version": hexz_format::VERSION,
            "required_features": self.required,
            "optional_features": self.optional,
            "block_size": self.block_size,
            "archive_id": self.archive_id,
            "file_size": self.file_size,
            "logical_size": self.logical_size,
            "stored_data_bytes": self.stored_data_bytes,
            "ratio": self.ratio(),
            "blocks": self.blocks,
            "stored_blocks": self.stored_blocks,
            "zero_blocks": self.zero_blocks,
            "dedup_blocks": self.dedup_blocks,
            "codecs": codecs,
            "entries": self.entries.iter().sum::<usize>(),
            "records": self.records,
            "record_groups": groups,
            "metadata": self.metadata,
            "signed": self.signed,
            "root_hash": self.root_hash,
        });
        for ((_, name), n) in KINDS.iter().zip(self.entries) {
            v[*name] = json!(n);
        }
        v
    }

    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let list = |names: &[String]| match names.is_empty() {
            true => "none".to_string(),
            false => names.join(", "),
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let (file, logical) = (self.file_size, self.logical_size);
        writeln!(out, "archive       {}", self.archive)?;
        writeln!(out, "format        version {}", hexz_format::VERSION)?;
        writeln!(
            out,
            "features      required: {}; optional: {}",
            list(&self.required),
            list(&self.optional)
        )?;
        writeln!(out, "block size    {}", human(self.block_size as u64))?;
        writeln!(out, "archive id    {}", self.archive_id)?;
        writeln!(out, "file size     {} ({file} bytes)", human(file))?;
        writeln!(out, "logical size  {} ({logical} bytes)", human(logical))?;
        writeln!(out, "ratio         {:.2}x", self.ratio())?;
        writeln!(
            out,
            "blocks        {} ({} stored, {} zero, {} dedup)",
            self.blocks, self.stored_blocks, self.zero_blocks, self.dedup_blocks
        )?;
        let mut label = "codecs";
        for (codec, s) in CODECS.iter().zip(&self.codecs) {
            if s.blocks == 0 {
                continue;
            }
            writeln!(
                out,
                "{label:14}{:5} {} blocks, {} raw, {} stored",
                codec.name(),
                s.blocks,
                human(s.raw_bytes),
                human(s.stored_bytes)
            )?;
            label = "";
        }
        let kinds: Vec<String> = KINDS
            .iter()
            .zip(self.entries)
            .map(|((_, name), n)| format!("{n} {name}"))
            .collect();
        let total: usize = self.entries.iter().sum();
        writeln!(out, "entries       {total} ({})", kinds.join(", "))?;
        writeln!(out, "records       {}", self.records)?;
        for g in &self.groups {
            let shape: Vec<String> = g.shape.iter().map(u64::to_string).collect();
            writeln!(
                out,
                "  {:12}{}[{}] x {}",
                g.name,
                g.dtype.name(),
                shape.join(", "),
                g.record_count
            )?;
        }
        writeln!(out, "metadata      {}", yes(self.metadata))?;
        writeln!(out, "signed        {}", yes(self.signed))?;
        writeln!(out, "root hash     {}", self.root_hash)?;
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
