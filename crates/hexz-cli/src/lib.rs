//! `hexz`: pack, inspect, list, read, extract and verify `.hxz` archives — the command line as
//! a library, so that the `hexz` binary and the Python package's `hexz` command are one program.

/// The options, the subcommands, and [`run`].
mod cli;
/// One module per subcommand.
mod cmd;
/// Ctrl-C, SIGTERM and SIGHUP while packing: a flag the pack's reads and writes see.
mod interrupt;
/// Progress bars on stderr, for a person watching a terminal.
mod progress;
/// What `extract` restores beyond mode and mtime: owners, xattrs, devices, hard links.
mod restore;
/// Byte sizes: `64K`, `1M` on the command line, `1.5 MiB` in output.
mod size;
/// Unbuffered standard output for bulk data.
mod stdout;

pub use cli::run;
