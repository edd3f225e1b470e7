//! `hexz verify`: read and check every byte of an archive, and its signature.

use super::Global;
use crate::progress;
use anyhow::{bail, Result};
use hexz_core::verify::SignatureCheck;
use hexz_core::ReadOptions;
use std::io::Write;
use std::path::PathBuf;

pub const ABOUT: &str = "Check every byte of an archive and its signature (exit 1 when damaged)";

pub const LONG_ABOUT: &str = "\
Check every block and table of an archive, and its signature.

Reads every stored byte and checks it against its CRC-32C and BLAKE3 hash from the index: the
header, the summary, every index page, table and block, and that no byte of the file lies outside
them. Prints `OK: ...` and exits 0 when the archive is intact; prints each problem on stderr and
exits 1 when it is not (also when it is too damaged to open).

A signed archive's signature is checked too. With --verify-key PUBLIC_KEY (the signer's public
key; --key is the old spelling) it must be that key's, and an unsigned archive fails; without
it, the signature is checked against the public key it names itself, which proves the archive
has not changed since that key signed it but not who signed it.

An encrypted archive's blocks can only be checked with its encryption key (--key-file,
--password-file, HEXZ_KEY, HEXZ_PASSWORD). Without it, a signed encrypted archive's signature
is still checked: it covers the header and the sealed summary, which pin everything else.";

pub const EXAMPLES: &str = "\
EXAMPLES:
    hexz verify data.hxz
    hexz verify data.hxz --verify-key hexz.pub
    hexz verify -q data.hxz && echo intact
    hexz verify s3://bucket/data.hxz --verify-key 3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

/// Arguments of `hexz verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive: a path, or an s3://, http:// or https:// URL.
    archive: PathBuf,
    /// The old spelling of the global --verify-key (the signer's public key), kept so that
    /// existing scripts work; hidden from the help.
    #[arg(
        short,
        long,
        value_name = "PUBLIC_KEY",
        hide = true,
        conflicts_with = "verify_key"
    )]
    key: Option<String>,
}

/// Runs `hexz verify`.
pub fn run(args: Args, global: &Global) -> Result<()> {
    let mut global = global.clone();
    if args.key.is_some() {
        global.verify_key = args.key.clone();
    }
    let options = ReadOptions {
        readahead_threads: 0,
        ..ReadOptions::default()
    };
    let archive = if global.key()?.is_some() {
        super::open(&args.archive, options, &global)?
    } else {
        // No key, and no prompt: of an encrypted archive only the signature can be checked.
        let options = super::with_verify_key(options, &global)?;
        match super::open_with(&args.archive, options, &global) {
            Err(e) if super::is_key_required(&e) => return signature_only(&args, &global),
            r => r?,
        }
    };
    let bar = progress::bytes(
        progress::wanted(global.quiet),
        Some(archive.len()),
        "verifying",
    );
    let report = hexz_core::verify::verify(&archive, &|n| bar.set_position(n));
    bar.finish_and_clear();
    let report = report?;
    if report.is_ok() {
        if !global.quiet {
            let signed = match (&report.signature, global.verify_key.is_some()) {
                (SignatureCheck::Valid { .. }, true) => {
                    "; signature valid, by the given key".to_string()
                }
                (SignatureCheck::Valid { public_key }, false) => format!(
                    "; signature valid, by {} (pass --verify-key PUBLIC_KEY to require a signer)",
                    hex(public_key)
                ),
                (SignatureCheck::Unchecked, _) => {
                    "; signed, but this build cannot check signatures".into()
                }
                _ => "; not signed".into(),
            };
            writeln!(
                std::io::stdout(),
                "OK: {} blocks, {} bytes verified{signed}",
                report.blocks,
                report.bytes
            )?;
        }
        return Ok(());
    }
    let mut err = std::io::stderr().lock();
    for p in &report.problems {
        let _ = writeln!(err, "hexz: {}: {p}", args.archive.display());
    }
    bail!(
        "{} is damaged: {} problem{} found",
        args.archive.display(),
        report.problems.len(),
        if report.problems.len() == 1 { "" } else { "s" }
    )
}

/// An encrypted archive without its key: only the signature can be checked.
fn signature_only(args: &Args, global: &Global) -> Result<()> {
    let store = super::store(&args.archive, global)?;
    let name = args.archive.display();
    let expected = global
        .verify_key
        .as_deref()
        .map(super::public_key)
        .transpose()?;
    let sig = match hexz_core::sign::verify_signature(&*store, expected.as_ref()) {
        Ok(sig) => sig,
        Err(hexz_core::Error::NotSigned(_)) => bail!(
            "{name} is encrypted and not signed: its blocks can only be checked with its key \
             (--key-file, --password-file, HEXZ_KEY or HEXZ_PASSWORD)"
        ),
        Err(e) => return Err(e.into()),
    };
    if !global.quiet {
        let by = match expected {
            Some(_) => "by the given key".to_string(),
            None => format!(
                "by {} (pass --verify-key PUBLIC_KEY to require a signer)",
                hex(&sig.public_key)
            ),
        };
        writeln!(
            std::io::stdout(),
            "OK: signature valid, {by}; header and summary checked, blocks not: {name} is \
             encrypted (pass --key-file or --password-file to check every block)"
        )?;
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
