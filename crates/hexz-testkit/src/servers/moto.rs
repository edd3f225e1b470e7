//! moto_server, an S3-compatible server.

use super::{find_binary, free_port, hexz_cache, Server};
use std::path::Path;
use std::process::Command;

/// moto_server on a free port of 127.0.0.1, its output in `state/moto.out`. Found at
/// `$HEXZ_MOTO_SERVER`, the project's venv (`~/.cache/hexz/venv/bin/moto_server`) or `PATH`.
/// It accepts any request, signed or not.
pub fn moto(state: &Path) -> Server {
    start(&[], state.join("moto.out"))
}

/// [`moto`] with IAM checks on (`INITIAL_NO_AUTH_ACTION_COUNT=0`): every request with unknown
/// credentials is refused. Its output in `state/moto-auth.out`.
pub fn moto_auth(state: &Path) -> Server {
    start(
        &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")],
        state.join("moto-auth.out"),
    )
}

fn start(env: &[(&str, &str)], log: std::path::PathBuf) -> Server {
    let bin = find_binary(
        "HEXZ_MOTO_SERVER",
        &[hexz_cache().join("venv/bin/moto_server")],
        "moto_server",
        "install it with `make venv` (moto[server] from requirements-dev.txt)",
    );
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    cmd.envs(env.iter().copied());
    Server::start("moto_server", cmd, port, log)
}
