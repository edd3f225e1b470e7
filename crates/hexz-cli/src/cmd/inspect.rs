//! `hexz inspect`: what an archive holds and how it is stored.

use super::{Global, KEY_ENV, PASSWORD_ENV};
use crate::size::human;
use anyhow::{Context, Result};
use hexz_core::verify::SignatureCheck;
use hexz_core::{Archive, Codec, EntryKind, ReadOptions, RecordGroup};
use hexz_format::{Cipher, Header, Kdf};
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
counts, and the root hash that covers every byte of the archive. An encrypted archive also shows
its cipher and key derivation (KDF).

An encrypted archive inspected without its key (no --key-file, --password-file, HEXZ_KEY or
HEXZ_PASSWORD) shows what its unencrypted header reveals: format version, feature bits, block
size, archive id, cipher, KDF (a raw key, or Argon2id with its memory, iterations and lanes) and
file size, then a line saying that the rest is encrypted and how to pass the key; the exit
status is 0. The signature, when there is one, is checked too: the footer is not encrypted.
With --json, such a report has \"header_only\": true and only those keys, signed and signer. With
--verify-key, inspect opens the archive to check its signature, so an encrypted one needs its
key then.

JSON keys: archive, format_version, required_features, optional_features, block_size,
archive_id, file_size, encrypted, cipher (\"aes-256-gcm\" or \"none\"), kdf (null, or an
object: name \"raw-key\", or name \"argon2id\" with memory_kib, iterations, parallelism and
salt) and header_only; with the contents readable also logical_size, stored_data_bytes,
ratio, blocks, stored_blocks, zero_blocks, dedup_blocks, codecs, entries, files, dirs,
symlinks, streams, records, record_groups, metadata, signed, signer (the public key the
signature names, in hex, not checked; null when unsigned), root_hash, file_attributes,
extensions, and for a thin archive parent_blocks and parent_bytes (read from its parents) and
chain: each parent, theirs and so on, with depth, location (where it was opened), recorded
(where the archive says it is), archive_id, root_hash, file_size and logical_size.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz inspect data.hxz
    hexz info data.hxz --json | jq .ratio
    hexz inspect secret.hxz                       header only: cipher, KDF, archive id
    hexz inspect --key-file secret.key secret.hxz everything
    hexz inspect --parent-path /backup/v1.hxz v2.hxz  a thin archive whose parent moved";

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
    head: HeaderReport,
    logical_size: u64,
    stored_data_bytes: u64,
    blocks: u64,
    stored_blocks: u64,
    zero_blocks: u64,
    dedup_blocks: u64,
    codecs: [CodecStats; 4],
    entries: [usize; 8],
    attrs: AttrCounts,
    extensions: Vec<(u16, bool)>,
    records: u64,
    groups: Vec<RecordGroup>,
    metadata: bool,
    root_hash: String,
    /// Blocks of a thin archive read from its parents, and their bytes.
    parent_blocks: u64,
    parent_bytes: u64,
    /// The parents, theirs, and so on: the chain a thin archive reads through.
    chain: Vec<ChainLevel>,
}

/// One archive a thin archive's chain reads through.
struct ChainLevel {
    depth: usize,
    /// Where it was opened, and where the archive that names it records it.
    location: String,
    recorded: String,
    archive_id: String,
    root_hash: String,
    file_size: u64,
    logical_size: u64,
}

impl ChainLevel {
    /// The parents of `a`, depth first, at `depth` and below.
    fn of(a: &Archive, depth: usize, out: &mut Vec<ChainLevel>) {
        for (row, location, p) in a.parents() {
            out.push(ChainLevel {
                depth,
                location: location.to_string(),
                recorded: row.path.clone(),
                archive_id: hex(&p.header().archive_id),
                root_hash: hex(&p.root_hash()),
                file_size: p.file_len(),
                logical_size: p.len(),
            });
            ChainLevel::of(p, depth + 1, out);
        }
    }
}

/// Entry kinds in display order, with their `--json` keys; the last four (format v2) are
/// shown only when present.
const KINDS: [(EntryKind, &str); 8] = [
    (EntryKind::File, "files"),
    (EntryKind::Dir, "dirs"),
    (EntryKind::Symlink, "symlinks"),
    (EntryKind::Stream, "streams"),
    (EntryKind::CharDevice, "char_devices"),
    (EntryKind::BlockDevice, "block_devices"),
    (EntryKind::Fifo, "fifos"),
    (EntryKind::Socket, "sockets"),
];

/// What the file attributes (format v2, extension type 1) record, counted over the entries.
#[derive(Default)]
struct AttrCounts {
    /// Entries with any attribute.
    entries: usize,
    owners: usize,
    xattrs: usize,
    times: usize,
    hard_link_groups: usize,
}

impl AttrCounts {
    fn of(attrs: &[hexz_core::FileAttrs]) -> AttrCounts {
        let groups: HashSet<u64> = attrs.iter().map(|a| a.link_group).collect();
        AttrCounts {
            entries: attrs.iter().filter(|a| !a.is_empty()).count(),
            owners: attrs.iter().filter(|a| a.owner.is_some()).count(),
            xattrs: attrs.iter().map(|a| a.xattrs.len()).sum(),
            times: attrs.iter().filter(|a| a.atime_ns.is_some()).count(),
            hard_link_groups: groups.iter().filter(|&&g| g != 0).count(),
        }
    }
}

/// The name of an extension type (`docs/FORMAT.md` §7.5).
fn extension_name(kind: u16) -> &'static str {
    match kind {
        hexz_format::extension::types::FILE_ATTRIBUTES => "file attributes",
        hexz_format::extension::types::ENTRY_PAGES => "entry pages",
        hexz_format::extension::types::PAGE_DIRECTORY => "page directory",
        _ => "unknown to this build",
    }
}

/// Runs `hexz inspect`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let options = ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    // With --verify-key, `open` checks the signature; the header alone is not shown then.
    let archive = if global.key()?.is_some() || global.verify_key.is_some() {
        super::open(&args.archive, options, global)?
    } else {
        // Without a key, an encrypted archive shows what its header reveals.
        match super::open_with(&args.archive, options, global) {
            Err(e)
                if matches!(
                    e.downcast_ref::<hexz_core::Error>(),
                    Some(hexz_core::Error::KeyRequired(_))
                ) =>
            {
                return run_header_only(&args, global);
            }
            r => r?,
        }
    };
    let report = Report::collect(&archive)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", report.json())?;
    } else {
        report.print(&mut out)?;
    }
    Ok(())
}

/// `hexz inspect` of an encrypted archive without its key: the header only.
fn run_header_only(args: &Args, global: &Global) -> Result<()> {
    let store = super::store(&args.archive, global)?;
    let header = hexz_core::read_header(&*store)?;
    // The footer and signature are not encrypted: a signature can be checked without the key.
    let signature = match hexz_core::sign::verify_signature(&*store, None) {
        Ok(sig) => Some(Ok(hex(&sig.public_key))),
        Err(hexz_core::Error::NotSigned(_)) => None,
        Err(e) => Some(Err(e.to_string())),
    };
    let name = store.describe();
    let file_size = store.len().with_context(|| format!("cannot stat {name}"))?;
    let report = HeaderReport::new(name, &header, file_size, signature);
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{:#}", report.json(true))?;
    } else {
        report.print(&mut out)?;
    }
    Ok(())
}

/// Cipher and key derivation, from the header.
#[derive(Debug, Clone, Copy)]
struct Encryption {
    cipher: Cipher,
    kdf: Kdf,
}

impl Encryption {
    fn of(header: &Header) -> Encryption {
        Encryption {
            cipher: header.cipher,
            kdf: header.kdf,
        }
    }

    fn encrypted(&self) -> bool {
        self.cipher != Cipher::None
    }

    fn cipher_name(&self) -> &'static str {
        match self.cipher {
            Cipher::None => "none",
            Cipher::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// `null`, or `{"name": "raw-key"}`, or Argon2id with its parameters and salt.
    fn kdf_json(&self) -> Value {
        match self.kdf {
            Kdf::None => Value::Null,
            Kdf::RawKey => json!({ "name": "raw-key" }),
            Kdf::Argon2id {
                m_cost,
                t_cost,
                parallelism,
                salt,
            } => json!({
                "name": "argon2id",
                "memory_kib": m_cost,
                "iterations": t_cost,
                "parallelism": parallelism,
                "salt": hex(&salt),
            }),
        }
    }

    /// The `cipher` and `kdf` lines of an encrypted archive (nothing otherwise).
    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.encrypted() {
            return Ok(());
        }
        writeln!(out, "cipher        {}", self.cipher_name())?;
        match self.kdf {
            Kdf::None => writeln!(out, "kdf           none"),
            Kdf::RawKey => writeln!(out, "kdf           raw 32-byte key (no derivation)"),
            Kdf::Argon2id {
                m_cost,
                t_cost,
                parallelism,
                salt,
            } => {
                let memory = match m_cost >= 1024 {
                    true => format!("{m_cost} KiB ({})", human(u64::from(m_cost) * 1024)),
                    false => format!("{m_cost} KiB"),
                };
                writeln!(
                    out,
                    "kdf           argon2id (passphrase): memory {memory}, {t_cost} iterations, \
                     {parallelism} lanes, salt {}",
                    hex(&salt)
                )
            }
        }
    }

    /// How to give the key this archive takes.
    fn how_to_unlock(&self) -> String {
        match self.kdf {
            Kdf::RawKey => format!("pass its key with --key-file FILE or set {KEY_ENV}"),
            Kdf::Argon2id { .. } => {
                format!("pass its passphrase with --password-file FILE or set {PASSWORD_ENV}")
            }
            Kdf::None => {
                format!("pass --key-file or --password-file, or set {KEY_ENV} or {PASSWORD_ENV}")
            }
        }
    }
}

/// What the header of an encrypted archive reveals.
struct HeaderReport {
    archive: String,
    version: u16,
    required: Vec<String>,
    optional: Vec<String>,
    block_size: u32,
    archive_id: String,
    encryption: Encryption,
    file_size: u64,
    /// The signer's public key (hex) when the signature verifies against the key it names,
    /// or why it does not; `None` when unsigned.
    signature: Option<std::result::Result<String, String>>,
}

impl HeaderReport {
    fn new(
        archive: String,
        header: &Header,
        file_size: u64,
        signature: Option<std::result::Result<String, String>>,
    ) -> HeaderReport {
        HeaderReport {
            archive,
            version: header.version,
            required: header.required.names(),
            optional: header.optional.names(),
            block_size: header.block_size,
            archive_id: hex(&header.archive_id),
            encryption: Encryption::of(header),
            file_size,
            signature,
        }
    }

    /// The `--json` keys that the header and tail give (the whole header-only report).
    fn json(&self, header_only: bool) -> Value {
        json!({
            "archive": self.archive,
            "format_version": self.version,
            "required_features": self.required,
            "optional_features": self.optional,
            "block_size": self.block_size,
            "archive_id": self.archive_id,
            "file_size": self.file_size,
            "encrypted": self.encryption.encrypted(),
            "cipher": self.encryption.cipher_name(),
            "kdf": self.encryption.kdf_json(),
            "signed": self.signature.is_some(),
            "signer": self.signature.as_ref().and_then(|s| s.as_ref().ok()),
            "header_only": header_only,
        })
    }

    /// The lines from `archive` to `file size`.
    fn print_head(&self, out: &mut impl Write) -> std::io::Result<()> {
        let file = self.file_size;
        writeln!(out, "archive       {}", self.archive)?;
        writeln!(out, "format        version {}", self.version)?;
        writeln!(
            out,
            "features      required: {}; optional: {}",
            list(&self.required),
            list(&self.optional)
        )?;
        writeln!(out, "block size    {}", human(self.block_size as u64))?;
        writeln!(out, "archive id    {}", self.archive_id)?;
        self.encryption.print(out)?;
        writeln!(out, "file size     {} ({file} bytes)", human(file))
    }

    fn print_signature(&self, out: &mut impl Write) -> std::io::Result<()> {
        match &self.signature {
            None => writeln!(out, "signed        no"),
            Some(Ok(k)) => writeln!(
                out,
                "signed        yes, by public key {k} (the signature verifies; hexz verify \
                 --verify-key checks the signer)"
            ),
            Some(Err(e)) => writeln!(out, "signed        yes, but the signature is INVALID: {e}"),
        }
    }

    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        self.print_head(out)?;
        self.print_signature(out)?;
        writeln!(
            out,
            "contents      encrypted (sizes, blocks, entries, root hash): to see them, {}",
            self.encryption.how_to_unlock()
        )
    }
}

fn list(names: &[String]) -> String {
    match names.is_empty() {
        true => "none".to_string(),
        false => names.join(", "),
    }
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
        let (mut parent_blocks, mut parent_bytes) = (0, 0);
        for b in a.blocks() {
            let b = b?;
            if b.parent.is_some() {
                parent_blocks += 1;
                parent_bytes += b.raw_len as u64;
                continue;
            }
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
        let attrs = AttrCounts::of(&a.file_attrs()?);
        let extensions = summary
            .extensions
            .iter()
            .map(|x| (x.kind, x.critical))
            .collect();
        let signature = match hexz_core::verify::check_signature(a) {
            SignatureCheck::Unsigned => None,
            SignatureCheck::Valid { public_key } => Some(Ok(hex(&public_key))),
            SignatureCheck::Invalid(e) => Some(Err(e)),
            SignatureCheck::Unchecked => Some(Err("this build cannot check signatures".into())),
        };
        Ok(Report {
            head: HeaderReport::new(a.name().to_string(), header, a.file_len(), signature),
            logical_size: a.len(),
            stored_data_bytes: summary.stored_data_bytes,
            blocks: summary.block_count,
            stored_blocks: stored,
            zero_blocks: zero,
            dedup_blocks: dedup,
            codecs,
            entries,
            attrs,
            extensions,
            records: a.record_count(),
            groups: a.record_groups()?.to_vec(),
            metadata: !summary.metadata.is_absent(),
            root_hash: hex(&a.root_hash()),
            parent_blocks,
            parent_bytes,
            chain: {
                let mut chain = Vec::new();
                ChainLevel::of(a, 1, &mut chain);
                chain
            },
        })
    }

    fn ratio(&self) -> f64 {
        self.logical_size as f64 / self.head.file_size.max(1) as f64
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
        let mut v = self.head.json(false);
        let more = json!({
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
            "root_hash": self.root_hash,
            "file_attributes": {
                "entries": self.attrs.entries,
                "owners": self.attrs.owners,
                "xattrs": self.attrs.xattrs,
                "times": self.attrs.times,
                "hard_link_groups": self.attrs.hard_link_groups,
            },
            "parent_blocks": self.parent_blocks,
            "parent_bytes": self.parent_bytes,
            "chain": self.chain.iter().map(|l| json!({
                "depth": l.depth,
                "location": l.location,
                "recorded": l.recorded,
                "archive_id": l.archive_id,
                "root_hash": l.root_hash,
                "file_size": l.file_size,
                "logical_size": l.logical_size,
            })).collect::<Vec<_>>(),
            "extensions": self.extensions.iter().map(|(kind, critical)| json!({
                "type": kind,
                "critical": critical,
                "name": extension_name(*kind),
            })).collect::<Vec<_>>(),
        });
        if let (Value::Object(v), Value::Object(more)) = (&mut v, more) {
            v.extend(more);
        }
        for ((_, name), n) in KINDS.iter().zip(self.entries) {
            v[*name] = json!(n);
        }
        v
    }

    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let logical = self.logical_size;
        self.head.print_head(out)?;
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
            .enumerate()
            .filter(|(i, (_, n))| *i < 4 || *n > 0)
            .map(|(_, ((_, name), n))| format!("{n} {}", name.replace('_', " ")))
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
        if !self.chain.is_empty() {
            writeln!(
                out,
                "thin          {} blocks, {} read from the parent; this file holds {}",
                self.parent_blocks,
                human(self.parent_bytes),
                human(self.head.file_size)
            )?;
            for l in &self.chain {
                writeln!(
                    out,
                    "  {}parent {}: {} file, {} logical, id {}, root hash {}",
                    "  ".repeat(l.depth - 1),
                    l.location,
                    human(l.file_size),
                    human(l.logical_size),
                    l.archive_id,
                    l.root_hash
                )?;
            }
        }
        let a = &self.attrs;
        if a.entries > 0 {
            writeln!(
                out,
                "file attrs    {} entries: {} with owners, {} xattrs, {} with times, {} hard-link groups",
                a.entries, a.owners, a.xattrs, a.times, a.hard_link_groups
            )?;
        }
        for (kind, critical) in &self.extensions {
            let critical = if *critical { ", critical" } else { "" };
            writeln!(
                out,
                "extension     type {kind} ({}{critical})",
                extension_name(*kind)
            )?;
        }
        self.head.print_signature(out)?;
        writeln!(out, "root hash     {}", self.root_hash)?;
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
