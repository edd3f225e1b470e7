//! A pack killed or interrupted mid-way leaves nothing at the target and keeps a file that was
//! already there.

use crate::util::{cmd, noise};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;
use tempfile::TempDir;

/// Starts `hexz pack - target` and feeds it part of a large input, leaving stdin open.
fn start_pack(target: &Path) -> Child {
    let mut child = cmd(["pack", "-q", "-", target.to_str().expect("utf-8")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdin = child.stdin.as_mut().expect("stdin");
    for i in 0..8 {
        stdin.write_all(&noise(1 << 20, i)).expect("feed");
    }
    stdin.flush().expect("flush");
    // Let it compress and write some of that.
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hexz-tmp"))
        .collect()
}

#[test]
fn kill_leaves_no_target() {
    let t = TempDir::new().expect("tempdir");
    let target = t.path().join("out.hxz");
    let mut child = start_pack(&target);
    assert_eq!(temp_files(t.path()).len(), 1, "the pack is under way");
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    assert!(!target.exists());
}

#[test]
fn kill_keeps_an_existing_target() {
    let t = TempDir::new().expect("tempdir");
    let target = t.path().join("out.hxz");
    std::fs::write(&target, b"precious bytes").expect("write");
    let mut child = start_pack(&target);
    assert_eq!(temp_files(t.path()).len(), 1, "the pack is under way");
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    assert_eq!(std::fs::read(&target).expect("read"), b"precious bytes");
}

#[test]
fn sigint_cleans_up_and_exits_130() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let t = TempDir::new().expect("tempdir");
        let target = t.path().join("out.hxz");
        std::fs::write(&target, b"precious bytes").expect("write");
        let child = start_pack(&target);
        assert_eq!(temp_files(t.path()).len(), 1, "the pack is under way");
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: sends a signal to our own child process, which is still running.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(err.starts_with("hexz: error: interrupted"), "{err}");
        assert_eq!(std::fs::read(&target).expect("read"), b"precious bytes");
        assert_eq!(temp_files(t.path()), Vec::<String>::new());
    }
}
