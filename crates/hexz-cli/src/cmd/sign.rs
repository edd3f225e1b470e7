//! `hexz sign`: sign an archive with an Ed25519 private key.

use super::Global;
use anyhow::{bail, Context, Result};
use hexz_core::sign::SigningKey;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const ABOUT: &str = "Sign an archive with a private key from `hexz keygen`";

pub const LONG_ABOUT: &str = "\
Sign an archive with a private key from `hexz keygen`.

The signature (Ed25519) covers the archive's root hash: a BLAKE3 hash of the header and the
summary, which holds the hash of every table and index page, which hold the hash of every block.
A verifier with the public key (`hexz verify --key NAME.pub`, or --verify-key on any reading
command) detects a change to any byte.

Signs in place: the file grows by 144 bytes (the signature goes where the footer was, a new
footer follows), written at once and synced; a signed archive is re-signed by replacing its
signature. With --output, the archive is left alone and a signed copy is written atomically.
Only the header, footer and summary are read, so signing a terabyte archive is instant; it does
not check the data (run `hexz verify` first on an archive of unknown origin). Encrypted archives
are signed without their key.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz keygen
    hexz sign data.hxz --key hexz.key
    hexz sign data.hxz --key hexz.key --output signed.hxz
    hexz verify data.hxz --key hexz.pub";

/// Arguments of `hexz sign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The local archive to sign.
    archive: PathBuf,
    /// The private key file (PKCS#8 PEM, as `hexz keygen` writes).
    #[arg(short, long, value_name = "PRIVATE_KEY")]
    key: PathBuf,
    /// Write the signed archive here instead of signing in place (replaced atomically).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs `hexz sign`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    if args.archive.to_str().is_some_and(hexz_store::is_url) {
        bail!(
            "{} is remote: sign a local copy, then upload it (or pack with --sign-key)",
            args.archive.display()
        );
    }
    let key = SigningKey::read_file(&args.key).context("cannot use the private key")?;
    let (target, report) = match &args.output {
        None => (
            args.archive.clone(),
            hexz_core::sign::sign_file(&args.archive, &key)?,
        ),
        Some(out) => (out.clone(), sign_copy(&args.archive, out, &key)?),
    };
    if !global.quiet {
        let verb = if report.replaced {
            "re-signed"
        } else {
            "signed"
        };
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{verb} {}", target.display())?;
        writeln!(out, "root hash:  {}", hex(&report.root_hash))?;
        writeln!(out, "public key: {}", hex(&report.signature.public_key))?;
    }
    Ok(())
}

/// Copies `src` next to `dst`, signs the copy and renames it over `dst`.
fn sign_copy(src: &Path, dst: &Path, key: &SigningKey) -> Result<hexz_core::sign::SignReport> {
    let dir = match dst.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".hexz-sign-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    std::fs::copy(src, tmp.path())
        .with_context(|| format!("cannot copy {} to {}", src.display(), dir.display()))?;
    let report = hexz_core::sign::sign_file(tmp.path(), key)?;
    tmp.persist(dst)
        .with_context(|| format!("cannot write {}", dst.display()))?;
    Ok(report)
}
