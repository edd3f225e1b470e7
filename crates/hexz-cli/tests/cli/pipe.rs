//! `hexz cat big | head -c 10`: a closed pipe ends `hexz` quietly with status 0.

use crate::util::{arg, cmd, mixed, ok};
use std::io::Read;
use std::process::Stdio;
use tempfile::TempDir;

#[test]
fn closed_pipe_exits_quietly() {
    let t = TempDir::new().expect("tempdir");
    let f = t.path().join("big.bin");
    std::fs::write(&f, mixed(40 << 20, 3)).expect("write");
    let archive = arg(t.path(), "big.hxz");
    ok(["pack", "-q", f.to_str().expect("utf-8"), &archive]);
    for args in [vec!["cat", &archive], vec!["cat", &archive, "big.bin"]] {
        let mut child = cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut head = [0u8; 10];
        stdout.read_exact(&mut head).expect("read 10 bytes");
        drop(stdout);
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{:?}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
