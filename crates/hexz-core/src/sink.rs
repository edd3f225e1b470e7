//! Where a writer's bytes go: [`Sink`] and the atomic local [`FileSink`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A sequential byte sink that becomes visible only when [`Sink::commit`] succeeds.
/// Dropping a sink without committing discards everything written.
pub trait Sink: Write + Send {
    /// Makes the written bytes durable and visible at their destination.
    fn commit(self: Box<Self>) -> io::Result<()>;
    /// A short name for error messages.
    fn describe(&self) -> String;
}

/// Writes to a temporary file beside `target`, then fsyncs and renames it over `target`.
/// A failed or killed write never leaves a partial file at `target` and never touches an
/// existing file there.
pub struct FileSink {
    tmp: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl FileSink {
    /// Creates the temporary file next to `target`.
    pub fn create(target: impl AsRef<Path>) -> io::Result<FileSink> {
        let target = target.as_ref().to_path_buf();
        if target.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "output path is a directory",
            ));
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".hexz-tmp");
        // The finished archive gets the usual `0o666 & !umask`, like any new file.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(&dir)?;
        Ok(FileSink {
            tmp: BufWriter::with_capacity(1 << 20, tmp),
            target,
        })
    }

    /// The temporary file being written, which becomes the target on commit.
    pub fn temp_path(&self) -> &Path {
        self.tmp.get_ref().path()
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.tmp.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

impl Sink for FileSink {
    fn commit(self: Box<Self>) -> io::Result<()> {
        let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.target).map_err(|e| e.error)?;
        sync_parent(&self.target);
        Ok(())
    }
    fn describe(&self) -> String {
        self.target.display().to_string()
    }
}

#[cfg(unix)]
fn sync_parent(target: &Path) {
    if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Best effort: the rename is already done; a failed dir fsync only weakens durability.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
}

#[cfg(not(unix))]
fn sync_parent(_target: &Path) {}

/// An in-memory sink, for tests and for building small archives in memory.
#[derive(Default)]
pub struct VecSink {
    /// Where the bytes land on commit.
    pub out: std::sync::Arc<parking_lot::Mutex<Vec<u8>>>,
    buf: Vec<u8>,
}

impl VecSink {
    /// A sink whose bytes appear in `out` on commit.
    pub fn new(out: std::sync::Arc<parking_lot::Mutex<Vec<u8>>>) -> VecSink {
        VecSink {
            out,
            buf: Vec::new(),
        }
    }
}

impl Write for VecSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink for VecSink {
    fn commit(self: Box<Self>) -> io::Result<()> {
        *self.out.lock() = self.buf;
        Ok(())
    }
    fn describe(&self) -> String {
        "<memory>".into()
    }
}
