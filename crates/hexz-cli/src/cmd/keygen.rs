//! `hexz keygen`: a new Ed25519 key pair for signing archives.

use super::Global;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;

pub const ABOUT: &str = "Create an Ed25519 key pair for signing archives";

pub const LONG_ABOUT: &str = "\
Create an Ed25519 key pair for signing archives.

Writes NAME.key, the private key (PKCS#8 PEM, file mode 0600), and NAME.pub, the public key
(SubjectPublicKeyInfo PEM), into the output directory. Both are the formats OpenSSL uses
(`openssl pkey -in NAME.key -pubout` prints NAME.pub). Never replaces an existing file.

Keep the private key secret: it signs, as --signing-key NAME.key of `hexz sign` or `hexz pack`.
Hand out the public key to whoever verifies: --verify-key NAME.pub, on `hexz verify` or any
reading command. The public key's 64 hex digits, printed here, work in place of the .pub file.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz keygen                               writes hexz.key and hexz.pub here
    hexz keygen --output-dir ~/.hexz --name release
    hexz sign data.hxz --signing-key ~/.hexz/release.key";

/// Arguments of `hexz keygen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the key files into (created if missing).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    output_dir: PathBuf,
    /// Base name of the key files: NAME.key and NAME.pub.
    #[arg(long, default_value = "hexz")]
    name: String,
}

/// Runs `hexz keygen`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("cannot create {}", args.output_dir.display()))?;
    let (key, files) =
        hexz_core::sign::keygen(&args.output_dir, &args.name).map_err(|e| match &e {
            hexz_core::sign::KeyError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::AlreadyExists =>
            {
                anyhow::anyhow!("{e} (a key file exists there already; it was left alone)")
            }
            _ => e.into(),
        })?;
    if !global.quiet {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "private key: {} (keep it secret)",
            files.private.display()
        )?;
        writeln!(out, "public key:  {}", files.public.display())?;
        writeln!(out, "public key (hex): {}", key.verifying_key().to_hex())?;
    }
    Ok(())
}
