//! Key file I/O: bounded reads of key files into zeroized memory, and creation of new files
//! that never replace an existing one.

use crate::{Error, Result};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// The longest key file read: a PEM key is a few hundred bytes.
const MAX_KEY_FILE: u64 = 4096;

/// Writes a new file (never replacing one) with `mode` from its creation, synced to disk.
pub(crate) fn create_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(io)?;
    let res = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = res {
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

pub(crate) fn read_small(path: &Path) -> Result<Zeroizing<String>> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(512));
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_KEY_FILE {
        return Err(Error::InvalidKey(format!(
            "{}: too large for a key file",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&buf)
        .map_err(|_| Error::InvalidKey(format!("{}: a key file is text", path.display())))?;
    Ok(Zeroizing::new(text.to_string()))
}

pub(crate) fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::InvalidKey(m) => Error::InvalidKey(format!("{}: {m}", path.display())),
        e => e,
    }
}
