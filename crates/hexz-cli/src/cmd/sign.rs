//! `hexz sign`: sign an archive with an Ed25519 private key.

use super::Global;
use anyhow::{bail, Context, Result};
use hexz_core::sign::SigningKey;
use std::io::Write;
use std::path::PathBuf;

pub const ABOUT: &str = "Sign an archive with a private key from `hexz keygen`";

pub const LONG_ABOUT: &str = "\
Sign an archive with a private key from `hexz keygen`.

The signature (Ed25519) covers the archive's root hash: a BLAKE3 hash of the header and the
summary, which holds the hash of every table and index page, which hold the hash of every block.
The private key is given with --signing-key (--key is the old spelling). A verifier with the
public key (--verify-key NAME.pub, on `hexz verify` or any reading command) detects a change to
any byte.

The signed archive is 144 bytes longer (the signature goes where the footer was, a new footer
follows); a signed archive is re-signed by replacing its signature. By default the archive is
replaced atomically: a signed copy is made beside it and renamed over it, so a crash leaves the
old file or the signed one. The copy is made by the kernel (copy_file_range), and costs no data
at all on file systems with reflinks (XFS, Btrfs). --in-place instead writes the 208-byte tail
into the file itself (one write, then fsync): instant for any size, but a crash during that
write can leave the file without a valid footer. With --output, the archive is left alone and
the signed copy goes there. Only the header, footer and summary are read and signed: run `hexz
verify` first on an archive of unknown origin. Encrypted archives are signed without their key.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz keygen
    hexz sign data.hxz --signing-key hexz.key
    hexz sign data.hxz --signing-key hexz.key --output signed.hxz
    hexz sign huge.hxz --signing-key hexz.key --in-place
    hexz verify data.hxz --verify-key hexz.pub";

/// Arguments of `hexz sign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The local archive to sign.
    archive: PathBuf,
    /// The private key file (PKCS#8 PEM, NAME.key as `hexz keygen` writes).
    #[arg(long, value_name = "PRIVATE_KEY", alias = "key", short_alias = 'k')]
    signing_key: PathBuf,
    /// Write the signed archive here instead (replaced atomically); ARCHIVE is left alone.
    #[arg(short, long, value_name = "FILE", conflicts_with = "in_place")]
    output: Option<PathBuf>,
    /// Write the signature into ARCHIVE itself instead of replacing it with a signed copy:
    /// no copy, but not crash-safe.
    #[arg(long)]
    in_place: bool,
}

/// Runs `hexz sign`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    if args.archive.to_str().is_some_and(hexz_store::is_url) {
        bail!(
            "{} is remote: sign a local copy, then upload it (or pack with --signing-key)",
            args.archive.display()
        );
    }
    let key = SigningKey::read_file(&args.signing_key).context("cannot use the private key")?;
    let target = args.output.clone().unwrap_or_else(|| args.archive.clone());
    let report = if args.in_place {
        hexz_core::sign::sign_file(&args.archive, &key)?
    } else {
        // Replacing ARCHIVE through a symlink replaces the file it points to, not the link.
        let dst = match &args.output {
            Some(out) => out.clone(),
            None => args
                .archive
                .canonicalize()
                .unwrap_or_else(|_| args.archive.clone()),
        };
        hexz_core::sign::sign_copy(&args.archive, &dst, &key)?
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
