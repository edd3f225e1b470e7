//! The command line: its options and subcommands (clap), and [`run`], which parses one and
//! runs it.

use crate::cmd::{
    cache, cat, extract, flatten, inspect, keygen, ls, pack, serve, sign, verify, Global,
};
#[cfg(all(feature = "fuse", target_os = "linux"))]
use crate::cmd::{mount, unmount};
use crate::size;
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;

const LONG_ABOUT: &str = "\
hexz packs files, directory trees and raw disk or memory images into .hxz archives that can be
read at any byte offset without unpacking.

An archive holds one logical stream of bytes cut into fixed-size blocks (64 KiB by default).
Each block is compressed on its own (LZ4, Zstd or stored raw), all-zero blocks take no space,
and identical blocks are stored once. A block index at the end of the file lets a reader fetch
and decode only the blocks a read touches. Entries (files, directories, symlinks, raw streams)
and records (dataset samples) are ranges of the stream. Every block and table carries a CRC-32C
and a BLAKE3 hash; the format is specified in docs/FORMAT.md.

Archives can be read straight from S3 (s3://bucket/key) and HTTP(S) servers that support Range
requests: only the blocks a command needs are fetched. S3 credentials, region and endpoint come
from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
AWS_REGION, AWS_ENDPOINT_URL) or the AWS_PROFILE profile in ~/.aws/credentials and ~/.aws/config;
the S3 options below override them. With --cache-dir (or HEXZ_CACHE_DIR), the chunks read are
kept on local disk, bounded by --cache-limit, and read from there next time (`hexz cache`).

Encrypted archives (hexz pack --encrypt) are read with their encryption key: --key-file or
--password-file, or the HEXZ_KEY (64 hex digits) or HEXZ_PASSWORD environment variable; without
any of them, a command run on a terminal asks for the passphrase (no echo).

Signed archives (hexz keygen, then hexz sign --signing-key or hexz pack --signing-key with the
private key) carry an Ed25519 signature over a root hash that covers every byte; --verify-key
with the public key makes any reading command refuse an archive not signed by that key and
check every block it reads.";

const EXAMPLES: &str = "\
EXAMPLES:
    hexz pack ./photos photos.hxz         pack a directory (LZ4, 64 KiB blocks)
    hexz pack -c zstd ./src src.hxz       smaller archive, slower to pack
    hexz inspect photos.hxz               sizes, ratio, codec mix, counts
    hexz ls -l photos.hxz                 list entries like ls -l
    hexz cat photos.hxz 2024/cat.jpg > cat.jpg
    hexz extract photos.hxz out/          recreate the tree with modes and times
    hexz verify photos.hxz                check every byte; exit 1 when damaged
    hexz keygen && hexz sign photos.hxz --signing-key hexz.key
    hexz verify photos.hxz --verify-key hexz.pub
                                          check every byte and the signature
    hexz ls s3://bucket/photos.hxz        every reading command takes s3:// and http(s):// URLs
    hexz cat https://host/photos.hxz 2024/cat.jpg > cat.jpg
    hexz --cache-dir DIR cat s3://bucket/photos.hxz 2024/cat.jpg > cat.jpg
    hexz cache ls --cache-dir DIR         remote chunks kept on local disk by --cache-dir DIR

Run `hexz help COMMAND` for each command's options and examples.";

/// The `.hxz` archive tool.
#[derive(Debug, Parser)]
#[command(
    name = "hexz",
    version,
    about = "Pack, inspect, read and verify .hxz archives",
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    max_term_width = 100
)]
struct Cli {
    /// Print nothing but errors: no progress bars, no summaries.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// S3 endpoint, e.g. http://127.0.0.1:9000 for MinIO (else AWS_ENDPOINT_URL, the profile's
    /// endpoint_url, or AWS).
    #[arg(long, global = true, value_name = "URL", help_heading = "S3 options")]
    endpoint_url: Option<String>,
    /// S3 region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's region, or us-east-1).
    #[arg(long, global = true, help_heading = "S3 options")]
    region: Option<String>,
    /// Send unsigned S3 requests (public buckets); ignores any credentials.
    #[arg(long, global = true, help_heading = "S3 options")]
    no_sign_request: bool,
    /// Virtual-hosted-style S3 requests (bucket.endpoint/key) instead of path-style.
    #[arg(long, global = true, help_heading = "S3 options")]
    virtual_hosted: bool,
    /// Encryption key file of an encrypted archive (not a signing key): 64 hex digits and a
    /// newline, or 32 raw bytes (else HEXZ_KEY, 64 hex digits).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Encryption options",
        conflicts_with = "password_file"
    )]
    key_file: Option<std::path::PathBuf>,
    /// File holding the encryption passphrase of an encrypted archive; one final newline is
    /// dropped (else HEXZ_PASSWORD).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Encryption options"
    )]
    password_file: Option<std::path::PathBuf>,
    /// Require a valid signature by this public key (a .pub file from `hexz keygen`, or 64 hex
    /// digits) and check every block's hash as it is read: for archives from untrusted storage.
    /// Any command that reads an archive takes it, `hexz verify` included.
    #[arg(
        long,
        global = true,
        value_name = "PUBLIC_KEY",
        help_heading = "Signature options"
    )]
    verify_key: Option<String>,
    /// Keep the chunks of remote archives read in DIR and read them from there next time (else
    /// HEXZ_CACHE_DIR; off when neither is set). Shared safely by processes; see `hexz cache`.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Cache options"
    )]
    cache_dir: Option<std::path::PathBuf>,
    /// Bound on the cache directory's size, e.g. 50G (default 10G); the least recently used
    /// chunks are evicted.
    #[arg(
        long,
        global = true,
        value_name = "SIZE",
        value_parser = size::parse,
        help_heading = "Cache options"
    )]
    cache_limit: Option<u64>,
    /// Where the parent of a thin archive is (a path or URL), when it moved from where the
    /// archive records it; repeat for each parent, in order (`hexz inspect` lists them).
    #[arg(
        long,
        global = true,
        value_name = "PATH|URL",
        help_heading = "Thin archive options"
    )]
    parent_path: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(about = pack::ABOUT, long_about = pack::LONG_ABOUT, after_help = pack::EXAMPLES)]
    Pack(pack::Args),
    #[command(
        visible_alias = "info",
        about = inspect::ABOUT,
        long_about = inspect::LONG_ABOUT,
        after_help = inspect::EXAMPLES
    )]
    Inspect(inspect::Args),
    #[command(about = ls::ABOUT, long_about = ls::LONG_ABOUT, after_help = ls::EXAMPLES)]
    Ls(ls::Args),
    #[command(about = cat::ABOUT, long_about = cat::LONG_ABOUT, after_help = cat::EXAMPLES)]
    Cat(cat::Args),
    #[command(
        about = extract::ABOUT,
        long_about = extract::LONG_ABOUT,
        after_help = extract::EXAMPLES
    )]
    Extract(extract::Args),
    #[command(
        about = flatten::ABOUT,
        long_about = flatten::LONG_ABOUT,
        after_help = flatten::EXAMPLES
    )]
    Flatten(flatten::Args),
    #[command(
        about = verify::ABOUT,
        long_about = verify::LONG_ABOUT,
        after_help = verify::EXAMPLES
    )]
    Verify(verify::Args),
    #[command(about = keygen::ABOUT, long_about = keygen::LONG_ABOUT, after_help = keygen::EXAMPLES)]
    Keygen(keygen::Args),
    #[command(about = sign::ABOUT, long_about = sign::LONG_ABOUT, after_help = sign::EXAMPLES)]
    Sign(sign::Args),
    #[command(about = serve::ABOUT, long_about = serve::LONG_ABOUT, after_help = serve::EXAMPLES)]
    Serve(serve::Args),
    #[command(about = cache::ABOUT, long_about = cache::LONG_ABOUT, after_help = cache::EXAMPLES)]
    Cache(cache::Args),
    #[cfg(all(feature = "fuse", target_os = "linux"))]
    #[command(about = mount::ABOUT, long_about = mount::LONG_ABOUT, after_help = mount::EXAMPLES)]
    Mount(mount::Args),
    #[cfg(all(feature = "fuse", target_os = "linux"))]
    #[command(
        visible_alias = "umount",
        about = unmount::ABOUT,
        long_about = unmount::LONG_ABOUT,
        after_help = unmount::EXAMPLES
    )]
    Unmount(unmount::Args),
}

/// Runs the command line `args` (the program name first, as `std::env::args_os` gives it) and
/// returns the exit status: 0, 1 on an error (printed to stderr as `hexz: error: ...`), 2 for a
/// usage error, 130 for an interrupted `pack`. `--help` and `--version` print and return 0.
/// The `hexz` binary and the Python package's `hexz` command both run this.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0, usage errors to stderr with 2.
            let _ = e.print();
            return u8::try_from(e.exit_code()).unwrap_or(2);
        }
    };
    let mut s3 = hexz_store::S3Options::new().anonymous(cli.no_sign_request);
    if let Some(endpoint) = cli.endpoint_url {
        s3 = s3.endpoint(endpoint);
    }
    if let Some(region) = cli.region {
        s3 = s3.region(region);
    }
    if cli.virtual_hosted {
        s3 = s3.path_style(false);
    }
    let global = Global {
        quiet: cli.quiet,
        s3,
        key_file: cli.key_file,
        password_file: cli.password_file,
        verify_key: cli.verify_key,
        cache_dir: cli.cache_dir.or_else(|| {
            std::env::var_os(hexz_cache::DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        }),
        cache_limit: cli.cache_limit.unwrap_or(hexz_cache::DEFAULT_LIMIT),
        parent_paths: cli.parent_path,
    };
    let result = match cli.command {
        Command::Pack(a) => pack::run(a, &global),
        Command::Inspect(a) => inspect::run(a, &global),
        Command::Ls(a) => ls::run(a, &global),
        Command::Cat(a) => cat::run(a, &global),
        Command::Extract(a) => extract::run(a, &global),
        Command::Flatten(a) => flatten::run(a, &global),
        Command::Verify(a) => verify::run(a, &global),
        Command::Keygen(a) => keygen::run(a, &global),
        Command::Sign(a) => sign::run(a, &global),
        Command::Serve(a) => serve::run(a, &global),
        Command::Cache(a) => cache::run(a, &global),
        #[cfg(all(feature = "fuse", target_os = "linux"))]
        Command::Mount(a) => mount::run(a, &global),
        #[cfg(all(feature = "fuse", target_os = "linux"))]
        Command::Unmount(a) => unmount::run(a, &global),
    };
    let Err(err) = result else {
        return 0;
    };
    if is_broken_pipe(&err) {
        // The reader went away (`hexz cat ... | head`): not an error worth a message.
        return 0;
    }
    let _ = writeln!(std::io::stderr(), "hexz: error: {}", message(&err));
    if err.downcast_ref::<pack::Interrupted>().is_some() {
        return 130;
    }
    1
}

/// The error and its causes joined by ": ", skipping a cause its parent already printed.
fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if out.ends_with(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
