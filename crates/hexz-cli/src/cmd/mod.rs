//! One module per subcommand; each has its clap `Args`, help texts and a `run` function.

pub mod cache;
pub mod cat;
pub mod extract;
pub mod flatten;
pub mod inspect;
pub mod keygen;
pub mod ls;
#[cfg(all(feature = "fuse", target_os = "linux"))]
pub mod mount;
pub mod pack;
pub mod serve;
pub mod sign;
#[cfg(all(feature = "fuse", target_os = "linux"))]
pub mod unmount;
pub mod verify;

use anyhow::{bail, Context, Result};
use hexz_core::sign::VerifyingKey;
use hexz_core::{Archive, KeySource, ReadOptions};
use hexz_store::S3Options;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The environment variable holding a raw key (64 hexadecimal digits).
pub const KEY_ENV: &str = "HEXZ_KEY";
/// The environment variable holding a passphrase (used exactly as it is).
pub const PASSWORD_ENV: &str = "HEXZ_PASSWORD";

/// Options shared by every subcommand.
#[derive(Debug, Clone)]
pub struct Global {
    /// Print nothing but errors.
    pub quiet: bool,
    /// Settings for `s3://` URLs from the command line (over the AWS environment).
    pub s3: S3Options,
    /// `--key-file`: a raw key file (`docs/keys.md`).
    pub key_file: Option<PathBuf>,
    /// `--password-file`: a file whose content (less one final newline) is the passphrase.
    pub password_file: Option<PathBuf>,
    /// `--verify-key`: the signer's public key (a key file, or 64 hex digits).
    pub verify_key: Option<String>,
    /// `--cache-dir` (else `HEXZ_CACHE_DIR`): the local cache of remote archives; `None`
    /// reads them uncached.
    pub cache_dir: Option<PathBuf>,
    /// `--cache-limit`: the cache's bound in bytes.
    pub cache_limit: u64,
    /// `--parent-path`: where the parents of a thin archive are, in order.
    pub parent_paths: Vec<String>,
}

impl Global {
    /// The key or passphrase from the command line (`--key-file`, `--password-file`) or,
    /// failing that, the environment (`HEXZ_KEY`, `HEXZ_PASSWORD`); `None` when there is
    /// none.
    pub fn key(&self) -> Result<Option<KeySource>> {
        if let Some(path) = &self.key_file {
            let key = KeySource::from_key_file(path)
                .with_context(|| format!("cannot use the key file {}", path.display()))?;
            return Ok(Some(key));
        }
        if let Some(path) = &self.password_file {
            return Ok(Some(read_password_file(path)?));
        }
        let hex = std::env::var_os(KEY_ENV).filter(|v| !v.is_empty());
        let pass = std::env::var_os(PASSWORD_ENV).filter(|v| !v.is_empty());
        match (hex, pass) {
            (Some(_), Some(_)) => {
                bail!("both {KEY_ENV} and {PASSWORD_ENV} are set; set only one")
            }
            (Some(hex), None) => {
                let hex = hex
                    .into_string()
                    .ok()
                    .with_context(|| format!("{KEY_ENV} is not 64 hexadecimal digits"))?;
                let key = KeySource::from_hex(&hex).context(KEY_ENV)?;
                Ok(Some(key))
            }
            (None, Some(p)) => {
                let p = p
                    .into_string()
                    .ok()
                    .with_context(|| format!("{PASSWORD_ENV} is not valid UTF-8"))?;
                Ok(Some(KeySource::Passphrase(p)))
            }
            (None, None) => Ok(None),
        }
    }
}

/// A public key given on the command line: a key file (PEM or hex), or 64 hex digits.
pub fn public_key(arg: &str) -> Result<VerifyingKey> {
    let path = Path::new(arg);
    if path.exists() {
        return VerifyingKey::read_file(path).context("cannot use the public key");
    }
    VerifyingKey::parse(arg)
        .with_context(|| format!("{arg} is neither a public key file nor 64 hexadecimal digits"))
}

/// A passphrase from a file: its UTF-8 content less one final newline (`\n` or `\r\n`).
fn read_password_file(path: &Path) -> Result<KeySource> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut p = String::from_utf8(bytes)
        .ok()
        .with_context(|| format!("the password file {} is not UTF-8", path.display()))?;
    if p.ends_with('\n') {
        p.pop();
        if p.ends_with('\r') {
            p.pop();
        }
    }
    if p.is_empty() {
        bail!("the password file {} is empty", path.display());
    }
    Ok(KeySource::Passphrase(p))
}

/// Asks for a passphrase on the terminal without echo (twice when `confirm`). `None` when
/// there is no terminal to ask on (standard error is not one, or /dev/tty cannot be opened).
pub fn prompt_password(confirm: bool) -> Result<Option<KeySource>> {
    if !std::io::stderr().is_terminal() || std::fs::File::open("/dev/tty").is_err() {
        return Ok(None);
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).context("cannot read the password from the terminal")
    };
    let first = ask("Password: ")?;
    if first.is_empty() {
        bail!("empty password");
    }
    if confirm && ask("Password again: ")? != first {
        bail!("the passwords do not match");
    }
    Ok(Some(KeySource::Passphrase(first)))
}

/// Opens an archive: a local path, or an `s3://`, `http://` or `https://` URL. The errors
/// already name the file or URL.
/// An encrypted archive is opened with the key or passphrase from [`Global::key`]; a missing
/// or wrong one is reported in one line.
fn open(path: &Path, options: ReadOptions, global: &Global) -> Result<Archive> {
    let mut options = with_verify_key(options, global)?;
    options.key = global.key()?;
    options.parent_paths = global.parent_paths.clone();
    options.open_parent = Some(parent_opener(global));
    let first = open_with(path, options.clone(), global);
    // An encrypted archive and no key given: on a terminal, ask for the passphrase.
    let result = match first {
        Err(e) if is_key_required(&e) && options.key.is_none() => match prompt_password(false)? {
            Some(pass) => open_with(
                path,
                ReadOptions {
                    key: Some(pass),
                    ..options
                },
                global,
            ),
            None => Err(e),
        },
        r => r,
    };
    result.map_err(|e| match e.downcast_ref::<hexz_core::Error>() {
        Some(hexz_core::Error::KeyRequired(_)) => anyhow::anyhow!(
            "{} is encrypted: pass --key-file or --password-file, or set {KEY_ENV} or \
                 {PASSWORD_ENV}",
            path.display()
        ),
        Some(hexz_core::Error::WrongKey(_)) => {
            anyhow::anyhow!("wrong key or password for {}", path.display())
        }
        _ => e,
    })
}

/// The storage of an archive path or URL, for commands that read bytes without opening it.
fn store(path: &Path, global: &Global) -> Result<std::sync::Arc<dyn hexz_core::ReadAt>> {
    // hexz-store opens local paths too, as a `FileStore`.
    let name = path
        .to_str()
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    let store = hexz_store::open_url_with(name, &global.s3)
        .with_context(|| format!("cannot open {name}"))?;
    cached(store, global)
}

/// `store` behind the local cache of `--cache-dir`, when one is given and the store is a
/// remote object that can be cached (see `hexz_cache::wrap`).
fn cached(
    store: std::sync::Arc<dyn hexz_core::ReadAt>,
    global: &Global,
) -> Result<std::sync::Arc<dyn hexz_core::ReadAt>> {
    let Some(dir) = &global.cache_dir else {
        return Ok(store);
    };
    let options = hexz_cache::CacheOptions::new(dir).limit(global.cache_limit);
    hexz_cache::wrap(store, &options).context("cannot use the cache directory")
}

/// `options` with the public key of `--verify-key`, if given.
fn with_verify_key(mut options: ReadOptions, global: &Global) -> Result<ReadOptions> {
    if let Some(k) = &global.verify_key {
        options.verify_key = Some(public_key(k)?);
    }
    Ok(options)
}

fn is_key_required(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<hexz_core::Error>(),
        Some(hexz_core::Error::KeyRequired(_))
    )
}

/// Opens the parents of thin archives as the archive itself is opened: local paths, or
/// `s3://` and `http(s)://` URLs (through the cache directory when one is given).
pub fn parent_opener(global: &Global) -> hexz_core::ParentOpener {
    let global = global.clone();
    hexz_core::ParentOpener(std::sync::Arc::new(move |location: &str, options, _pin| {
        open_with(Path::new(location), options, &global).map_err(|e| {
            match e.downcast::<hexz_core::Error>() {
                Ok(e) => e,
                Err(e) => hexz_core::Error::ParentMissing(format!("{e:#}")),
            }
        })
    }))
}

fn open_with(path: &Path, options: ReadOptions, global: &Global) -> Result<Archive> {
    match path.to_str().filter(|s| hexz_store::is_url(s)) {
        Some(url) => {
            let store = cached(hexz_store::open_url_with(url, &global.s3)?, global)?;
            // Commands turn read-ahead off where it would compete with their own parallel
            // decoding of local files; over a network it is what keeps the link busy.
            let options = ReadOptions {
                readahead_threads: options
                    .readahead_threads
                    .max(ReadOptions::default().readahead_threads),
                ..options
            };
            Ok(Archive::open_store(store, options)?)
        }
        None => Ok(Archive::open_with_options(path, options)?),
    }
}
