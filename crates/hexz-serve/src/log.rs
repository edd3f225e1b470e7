//! The server's messages on stderr: the access log and the notices.

use std::io::{self, Write};

/// Writes one line to stderr unless quiet; a closed stderr is ignored.
pub(crate) fn log(quiet: bool, line: std::fmt::Arguments<'_>) {
    if !quiet {
        let _ = writeln!(io::stderr().lock(), "{line}");
    }
}
