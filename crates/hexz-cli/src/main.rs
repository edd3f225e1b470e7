//! The `hexz` binary: [`hexz_cli::run`] on the process's arguments.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(hexz_cli::run(std::env::args_os()))
}
