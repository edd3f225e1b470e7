//! `_native.cli_main`: the `hexz` command inside the Python package — the Rust binary's
//! program (`hexz_cli::run`), run by the `hexz` script and `python -m hexz`.

use pyo3::prelude::*;
use std::ffi::OsString;

/// Runs the command line `argv` (the program name first) and returns its exit status. The GIL
/// is released for the whole run: a command may last hours (`hexz serve`, `hexz mount`).
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    py.detach(|| hexz_cli::run(argv))
}
