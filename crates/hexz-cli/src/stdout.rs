//! Standard output for bulk data: unbuffered writes straight to the file descriptor, so large
//! chunks go out in one system call without passing through a line buffer.

use std::io::{self, Write};

/// Standard output as a plain file. Write large chunks; nothing is buffered.
pub struct RawStdout(Inner);

#[cfg(unix)]
type Inner = std::fs::File;
#[cfg(not(unix))]
type Inner = io::StdoutLock<'static>;

impl RawStdout {
    /// Opens stdout for raw writes.
    #[cfg(unix)]
    pub fn open() -> io::Result<RawStdout> {
        use std::os::fd::AsFd;
        // A duplicate of fd 1: same open file, closed on drop without closing fd 1.
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        Ok(RawStdout(std::fs::File::from(fd)))
    }

    /// Opens stdout for raw writes.
    #[cfg(not(unix))]
    pub fn open() -> io::Result<RawStdout> {
        Ok(RawStdout(io::stdout().lock()))
    }
}

impl Write for RawStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
