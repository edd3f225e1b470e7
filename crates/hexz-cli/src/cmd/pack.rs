//! `hexz pack`: build an archive from a file, a directory tree, or standard input.

use super::Global;
use crate::{interrupt, progress, size};
use anyhow::{bail, Context, Result};
use hexz_core::sink::{FileSink, Sink};
use hexz_core::{
    meta_of, ArchiveWriter, CdcSizes, Chunking, Compression, Encryption, EntryMeta, KdfParams,
    ReadOptions, ThinParent, WriteOptions, WriteReport,
};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub const ABOUT: &str = "Pack a file, a directory tree or standard input into an archive";

pub const LONG_ABOUT: &str = "\
Pack a file, a directory tree or standard input into an archive.

A directory is stored whole: every file, directory, symlink, hard link, device node, FIFO and
socket under it, with paths relative to it, permission bits and modification times (symlinks
are stored, not followed), and what tar and squashfs keep besides: owners (ids and names) and
extended attributes (ACLs included); a hard-linked file's data is stored once. --times adds
access and change times; --no-attrs keeps only modes and mtimes (and skips special files, as a
format v1 writer did); --one-file-system does not descend into other file systems. A single
file becomes one entry named after it; standard input (`-`) becomes the entry `stdin`.

With --raw the input (a disk image, or `-`) is stored as the raw stream `disk`, and --memory
adds a RAM dump as the stream `memory`.

Data is cut into fixed-size blocks that are compressed in parallel; all-zero blocks are stored
as holes and identical blocks are stored once (unless --no-dedup).

The archive is written to a temporary file beside OUTPUT and renamed over it only when
complete: an interrupted or failed pack (Ctrl-C, kill, full disk) never leaves a partial archive
at OUTPUT and never touches a file that was already there.

OUTPUT may be s3://bucket/key: the archive is uploaded with an S3 multipart upload while it is
written (8 MiB parts, at most 4 in flight, no local copy). The object appears, replacing any
object at the key, only when the upload completes; a failed or interrupted pack aborts the
upload, leaving no object and no stored parts. (A pack killed outright cannot abort; a bucket
lifecycle rule that aborts incomplete multipart uploads cleans those up.) Credentials, region and
endpoint come from the AWS environment and profile, or --endpoint-url and --region.

With --encrypt every block and table is encrypted and authenticated with AES-256-GCM; only the
128-byte header stays readable. The key is a raw 32-byte key from --key-file or HEXZ_KEY (64 hex
digits), or a passphrase from --password-file, HEXZ_PASSWORD or, on a terminal, a prompt (asked
twice); a passphrase is stretched with Argon2id (64 MiB, 3 passes). Make a key file with
    (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo) > archive.key
or `(umask 077; head -c 32 /dev/urandom > archive.key)` (32 raw bytes); see docs/keys.md. Keep it
apart from the archive: without it, nothing but the header can be read.

With --signing-key NAME.key (the private key from `hexz keygen`, not an encryption key) the
archive is signed as it is written, as `hexz sign` would sign it afterwards.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz pack ./dataset dataset.hxz               pack a directory tree (LZ4)
    hexz pack -c zstd -l 9 ./dataset dataset.hxz  smaller, slower to pack
    hexz pack -b 1M big.bin big.hxz               1 MiB blocks
    tar -c src | hexz pack - src.tar.hxz          pack standard input
    hexz pack --raw disk.img --memory ram.bin vm.hxz
                                                  a VM snapshot: disk and memory streams
    hexz pack --metadata '{\"version\": 3}' data data.hxz
    hexz pack --metadata @meta.json data data.hxz
    hexz pack ./dataset s3://bucket/dataset.hxz   upload to S3 as it is packed
    hexz pack --encrypt --key-file archive.key ./dataset dataset.hxz
    HEXZ_PASSWORD=... hexz pack --encrypt ./dataset dataset.hxz
    hexz pack --signing-key hexz.key ./dataset dataset.hxz";

/// Block codec choices on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    /// Fast compression and decompression.
    Lz4,
    /// Smaller archives; levels 1 to 19 (default 3).
    Zstd,
    /// Store blocks uncompressed.
    None,
}

/// How blocks are cut, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChunkingArg {
    /// Blocks of --block-size bytes: fastest, best for data that is only appended to.
    Fixed,
    /// Content-defined chunks (FastCDC) averaging --block-size: bytes inserted or deleted
    /// change only the blocks around the edit, so versions of a file dedup.
    Cdc,
}

/// Arguments of `hexz pack`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A file, a directory, or `-` for standard input.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// The archive to write (replaced atomically when it exists), or s3://bucket/key.
    #[arg(value_name = "OUTPUT")]
    output: PathBuf,
    /// Block codec.
    #[arg(short, long, value_enum, default_value_t = Codec::Lz4)]
    compression: Codec,
    /// Compression level (zstd only: 1 to 19).
    #[arg(short, long, value_name = "N")]
    level: Option<i32>,
    /// Block size: a power of two from 4K to 16M (e.g. 64K, 1M, 65536).
    #[arg(short, long, value_name = "SIZE", default_value = "64K", value_parser = size::parse)]
    block_size: u64,
    /// Compression threads (0 = one per core).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    threads: usize,
    /// Store INPUT (a file or `-`) as the raw stream `disk`, e.g. a disk image.
    #[arg(long)]
    raw: bool,
    /// Also store FILE as the raw stream `memory` (with --raw).
    #[arg(long, value_name = "FILE", requires = "raw")]
    memory: Option<PathBuf>,
    /// User metadata: a JSON object, or @FILE to read it from FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    metadata: Option<String>,
    /// How blocks are cut: fixed sizes, or content-defined chunks that keep shifted data
    /// deduplicable.
    #[arg(long, value_enum, default_value_t = ChunkingArg::Fixed)]
    chunking: ChunkingArg,
    /// Smallest content-defined chunk (default: a quarter of the average).
    #[arg(long, value_name = "SIZE", value_parser = size::parse)]
    chunk_min: Option<u64>,
    /// Average content-defined chunk (default: --block-size).
    #[arg(long, value_name = "SIZE", value_parser = size::parse)]
    chunk_avg: Option<u64>,
    /// Largest content-defined chunk (default: four times the average, at most 16M).
    #[arg(long, value_name = "SIZE", value_parser = size::parse)]
    chunk_max: Option<u64>,
    /// Write a thin archive on BASE (a path or URL): blocks BASE already holds are not stored
    /// but read from it, so a new version of a data set or image costs only what changed
    /// (best with --chunking cdc). Readers need BASE beside the new archive, or where
    /// --parent-path says.
    #[arg(long, value_name = "BASE")]
    parent: Option<PathBuf>,
    /// Store every block even when identical to an earlier one.
    #[arg(long)]
    no_dedup: bool,
    /// Keep only permission bits and modification times: no owners, extended attributes,
    /// hard links or special files.
    #[arg(long)]
    no_attrs: bool,
    /// Also keep access and change times.
    #[arg(long, conflicts_with = "no_attrs")]
    times: bool,
    /// Do not descend into directories on other file systems (their mount points are kept).
    #[arg(long, short = 'x')]
    one_file_system: bool,
    /// Encrypt with the key from --key-file or HEXZ_KEY, or the passphrase from
    /// --password-file, HEXZ_PASSWORD or a prompt.
    #[arg(long)]
    encrypt: bool,
    /// Sign the archive with this private key (NAME.key from `hexz keygen`) as it is written.
    #[arg(long, value_name = "PRIVATE_KEY", alias = "sign-key")]
    signing_key: Option<PathBuf>,
    /// Argon2id memory in KiB for a passphrase (default 65536); lower values weaken it.
    #[arg(long, value_name = "KIB", hide = true, requires = "encrypt")]
    kdf_memory: Option<u32>,
    /// Argon2id passes for a passphrase (default 3).
    #[arg(long, value_name = "N", hide = true, requires = "encrypt")]
    kdf_iterations: Option<u32>,
}

/// What to pack.
#[derive(Debug)]
enum Source {
    Stdin,
    File(PathBuf),
    Dir(PathBuf),
}

/// A validated pack request.
#[derive(Debug)]
struct Config {
    source: Source,
    raw: bool,
    memory: Option<PathBuf>,
    metadata: Option<Vec<u8>>,
    output: PathBuf,
    options: WriteOptions,
}

/// Returned when a signal interrupted the pack; the output was left untouched.
#[derive(Debug)]
pub struct Interrupted(pub PathBuf);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted; {} was left untouched", self.0.display())
    }
}

impl std::error::Error for Interrupted {}

impl Args {
    /// `--chunking` and the chunk sizes, each checked.
    fn chunking(&self) -> Result<Chunking> {
        let sizes = [self.chunk_min, self.chunk_avg, self.chunk_max];
        if self.chunking == ChunkingArg::Fixed {
            if sizes.iter().any(Option::is_some) {
                bail!("--chunk-min, --chunk-avg and --chunk-max apply with --chunking cdc");
            }
            return Ok(Chunking::Fixed);
        }
        let to_u32 = |v: u64, what: &str| {
            u32::try_from(v).with_context(|| format!("--chunk-{what} {v} is too large"))
        };
        let avg = to_u32(self.chunk_avg.unwrap_or(self.block_size), "avg")?;
        // Defaults follow the average; a size given is taken as it is, and checked.
        let mut cdc = CdcSizes::around(avg);
        if self.chunk_avg.is_some() {
            cdc.avg = avg;
        }
        if let Some(v) = self.chunk_min {
            cdc.min = to_u32(v, "min")?;
        }
        if let Some(v) = self.chunk_max {
            cdc.max = to_u32(v, "max")?;
        }
        cdc.check().context("bad chunk sizes")?;
        Ok(Chunking::Cdc(cdc))
    }

    /// The encryption `--encrypt` asks for; refuses a key option without it.
    fn encryption(&self, global: &Global) -> Result<Option<Encryption>> {
        if !self.encrypt {
            if global.key_file.is_some() || global.password_file.is_some() {
                bail!("--key-file and --password-file encrypt only with --encrypt");
            }
            return Ok(None);
        }
        let key = match global.key()? {
            Some(k) => k,
            None => super::prompt_password(true)?.with_context(|| {
                format!(
                    "--encrypt needs a key: pass --key-file or --password-file, or set {} or \
                     {}",
                    super::KEY_ENV,
                    super::PASSWORD_ENV
                )
            })?,
        };
        let d = KdfParams::DEFAULT;
        let kdf = KdfParams {
            m_cost: self.kdf_memory.unwrap_or(d.m_cost),
            t_cost: self.kdf_iterations.unwrap_or(d.t_cost),
            parallelism: d.parallelism,
        };
        Ok(Some(Encryption::new(key).with_kdf(kdf)))
    }

    /// The parent of a thin archive, opened (with the key when encrypted), and where the new
    /// archive records it (`hexz_core::recorded_location`).
    fn parent(&self, global: &Global) -> Result<Option<ThinParent>> {
        let Some(base) = &self.parent else {
            return Ok(None);
        };
        let archive = super::open(base, ReadOptions::default(), global)
            .with_context(|| format!("cannot use {} as the parent", base.display()))?;
        let text = base
            .to_str()
            .with_context(|| format!("{} is not UTF-8", base.display()))?;
        let output = self
            .output
            .to_str()
            .with_context(|| format!("{} is not UTF-8", self.output.display()))?;
        let location = hexz_core::recorded_location(text, output);
        Ok(Some(ThinParent {
            archive: std::sync::Arc::new(archive),
            location,
        }))
    }

    fn validate(self, global: &Global) -> Result<Config> {
        let encryption = self.encryption(global)?;
        let parent = self.parent(global)?;
        let compression = compression(self.compression, self.level)?;
        let block_size = u32::try_from(self.block_size)
            .ok()
            .filter(|b| b.is_power_of_two() && (4096..=16 << 20).contains(b))
            .with_context(|| {
                format!(
                    "block size {} must be a power of two from 4K to 16M",
                    self.block_size
                )
            })?;
        let chunking = self.chunking()?;
        let source = if self.input.as_os_str() == "-" {
            Source::Stdin
        } else {
            let md = std::fs::metadata(&self.input)
                .with_context(|| format!("cannot read {}", self.input.display()))?;
            if md.is_dir() {
                Source::Dir(self.input)
            } else {
                Source::File(self.input)
            }
        };
        if let (true, Source::Dir(d)) = (self.raw, &source) {
            bail!(
                "--raw needs a file or `-`, and {} is a directory",
                d.display()
            );
        }
        match (&source, output_url(&self.output)) {
            (Source::Dir(d), None) => check_output_outside(d, &self.output)?,
            (Source::File(f), None) => check_output_is_not_input(f, &self.output)?,
            _ => {}
        }
        let metadata = self.metadata.map(|m| read_metadata(&m)).transpose()?;
        let signing_key = match &self.signing_key {
            Some(path) => Some(std::sync::Arc::new(
                hexz_core::sign::SigningKey::read_file(path)
                    .context("cannot use the private key")?,
            )),
            None => None,
        };
        Ok(Config {
            source,
            raw: self.raw,
            memory: self.memory,
            metadata,
            output: self.output,
            options: WriteOptions {
                compression,
                block_size,
                threads: self.threads,
                dedup: !self.no_dedup,
                chunking,
                parent,
                archive_id: None,
                encryption,
                signing_key,
                file_attrs: !self.no_attrs,
                keep_times: self.times,
                one_file_system: self.one_file_system,
                ..WriteOptions::default()
            },
        })
    }
}

/// OUTPUT as a URL (`s3://...`, also the refused `http://...`), or `None` for a local path.
fn output_url(output: &Path) -> Option<&str> {
    output.to_str().filter(|s| hexz_store::is_url(s))
}

/// Opens the sink OUTPUT names: a temporary file beside a local path, or an S3 multipart
/// upload for `s3://bucket/key`. Either is discarded (the upload aborted) when dropped
/// uncommitted.
/// The block codec `--compression` and `--level` name, checked.
pub(crate) fn compression(codec: Codec, level: Option<i32>) -> Result<Compression> {
    Ok(match (codec, level) {
        (Codec::Zstd, level) => {
            let level = level.unwrap_or(3);
            if !(1..=19).contains(&level) {
                bail!("zstd level {level} is not in 1..=19");
            }
            Compression::Zstd(level)
        }
        (_, Some(_)) => bail!("--level applies to zstd only (use --compression zstd)"),
        (Codec::Lz4, None) => Compression::Lz4,
        (Codec::None, None) => Compression::None,
    })
}

pub(crate) fn create_sink(output: &Path, s3: &hexz_store::S3Options) -> Result<Box<dyn Sink>> {
    match output_url(output) {
        Some(url) => Ok(hexz_store::create_sink(url, s3)?),
        None => {
            let sink = FileSink::create(output)
                .with_context(|| format!("cannot create {}", output.display()))?;
            Ok(Box::new(sink))
        }
    }
}

/// Refuses to write the archive inside the tree being packed: it would pack itself.
fn check_output_outside(dir: &Path, output: &Path) -> Result<()> {
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let (Ok(d), Ok(p)) = (dir.canonicalize(), parent.canonicalize()) {
        if p.starts_with(&d) {
            bail!(
                "the output {} is inside the input directory {}; write it elsewhere",
                output.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Refuses an output that is the input file under any name (the same path spelled another
/// way, a symlink to it, a hard link): the archive would replace what it is made from.
fn check_output_is_not_input(input: &Path, output: &Path) -> Result<()> {
    if same_file::is_same_file(input, output).unwrap_or(false) {
        bail!(
            "the output {} is the input file {}; write it elsewhere",
            output.display(),
            input.display()
        );
    }
    Ok(())
}

/// `--metadata`: inline JSON, or `@FILE`.
fn read_metadata(arg: &str) -> Result<Vec<u8>> {
    let bytes = match arg.strip_prefix('@') {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
        None => arg.as_bytes().to_vec(),
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(_)) => Ok(bytes),
        Ok(_) => bail!("--metadata must be a JSON object"),
        Err(e) => bail!("--metadata is not valid JSON: {e}"),
    }
}

/// Runs `hexz pack`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let config = args.validate(global)?;
    let show = progress::wanted(global.quiet);
    let total = show.then(|| input_size(&config)).flatten();
    let bar = progress::bytes(show, total, "packing");
    interrupt::install();
    let start = Instant::now();
    let result = pack(&config, &global.s3, &bar);
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(_) if interrupt::interrupted() => {
            return Err(Interrupted(config.output).into());
        }
        Err(e) => return Err(e),
    };
    if !global.quiet {
        print_summary(&config, &report, start.elapsed().as_secs_f64());
    }
    Ok(())
}

fn pack(
    config: &Config,
    s3: &hexz_store::S3Options,
    bar: &indicatif::ProgressBar,
) -> Result<WriteReport> {
    // Compression threads, and the upload runtime's threads an S3 sink starts, start with the
    // signals blocked, so a Ctrl-C wakes this thread. When the pack fails or is interrupted,
    // `w` is dropped on the way out, and with it the sink: its temporary file is deleted, or
    // its S3 upload aborted.
    let mut w = interrupt::with_signals_blocked(|| -> Result<ArchiveWriter> {
        let sink = Box::new(InterruptibleSink(create_sink(&config.output, s3)?));
        Ok(ArchiveWriter::with_sink(sink, config.options.clone())?)
    })?;
    let progress = bar.clone();
    w.on_progress(move |n| progress.set_position(n));
    if let Some(m) = &config.metadata {
        w.set_metadata(m)?;
    }
    match &config.source {
        Source::Stdin => {
            let stdin = Interruptible(io::stdin().lock());
            let meta = EntryMeta {
                mode: 0o644,
                mtime_ns: now_ns(),
            };
            if config.raw {
                w.add_stream("disk", stdin, meta)?;
            } else {
                w.add_reader("stdin", stdin, meta, None)?;
            }
        }
        Source::File(path) => {
            let (file, md) = open(path)?;
            if config.raw {
                w.add_stream("disk", Interruptible(file), meta_of(&md))?;
            } else {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("{}: no UTF-8 file name", path.display()))?;
                w.add_reader(name, Interruptible(file), meta_of(&md), Some(md.len()))?;
            }
        }
        Source::Dir(dir) => w.add_dir(dir, "")?,
    }
    if let Some(path) = &config.memory {
        let (file, md) = open(path)?;
        w.add_stream("memory", Interruptible(file), meta_of(&md))?;
    }
    let report = w.finish()?;
    Ok(report)
}

fn open(path: &Path) -> Result<(std::fs::File, std::fs::Metadata)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let md = file
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?;
    Ok((file, md))
}

fn print_summary(config: &Config, r: &WriteReport, secs: f64) {
    let mut err = io::stderr().lock();
    for path in &r.skipped {
        let _ = writeln!(
            err,
            "hexz: warning: skipped {path} (not a file, directory or symlink)"
        );
    }
    let ratio = r.logical_size as f64 / r.file_len.max(1) as f64;
    let rate = r.logical_size as f64 / secs.max(1e-9);
    let _ = writeln!(
        err,
        "packed {} into {} ({}), ratio {ratio:.2}x, in {secs:.2} s ({}/s); \
         {} blocks: {} stored, {} dedup, {} zero{}",
        size::human(r.logical_size),
        config.output.display(),
        size::human(r.file_len),
        size::human(rate as u64),
        r.blocks,
        r.stored_blocks,
        r.dedup_blocks,
        r.zero_blocks,
        match &config.options.parent {
            Some(p) => format!(", {} in the parent {}", r.parent_blocks, p.location),
            None => String::new(),
        },
    );
}

/// Total input bytes for the progress bar: cheap `stat`s only; `None` for standard input.
fn input_size(config: &Config) -> Option<u64> {
    let mem = config
        .memory
        .as_ref()
        .and_then(|m| std::fs::metadata(m).ok())
        .map_or(0, |m| m.len());
    let main = match &config.source {
        Source::Stdin => return None,
        Source::File(p) => std::fs::metadata(p).ok()?.len(),
        Source::Dir(d) => tree_size(d),
    };
    Some(main + mem)
}

fn tree_size(root: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in rd.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A reader that fails once a termination signal arrived, also out of a blocking read.
struct Interruptible<R>(R);

impl<R: Read> Read for Interruptible<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if interrupt::interrupted() {
                return Err(interrupt::error());
            }
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
}

/// A sink whose writes and commit fail once a termination signal arrived, so the writer stops
/// and, when the sink is dropped uncommitted, its temporary file is deleted (or its S3 upload
/// aborted).
struct InterruptibleSink(Box<dyn Sink>);

impl Write for InterruptibleSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if interrupt::interrupted() {
            return Err(interrupt::error());
        }
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if interrupt::interrupted() {
            return Err(interrupt::error());
        }
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Sink for InterruptibleSink {
    fn commit(self: Box<Self>) -> io::Result<()> {
        if interrupt::interrupted() {
            return Err(interrupt::error());
        }
        self.0.commit()
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}
