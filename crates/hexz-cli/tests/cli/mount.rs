//! `hexz mount` and `hexz unmount` with real mounts: a foreground mount ended by SIGTERM or
//! by `hexz unmount`, a `--daemon` mount read with find, stat and sha256sum, encrypted
//! archives (a key file, a passphrase, a wrong or missing key), and the errors.
//! Every test checks that no mount and no `hexz mount` process is left behind.
//!
//! They need root and /dev/fuse: as root a missing /dev/fuse fails the test; as another user
//! they are skipped with a message.

use crate::util::{cmd, fails, make_tree, ok};
use hexz_testkit::mounts::{can_mount, is_mounted};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Waits until `cond` holds, failing with `what` after 10 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of `hexz mount` processes whose arguments name `mnt`.
fn mount_processes(mnt: &Path) -> Vec<u32> {
    let mnt = mnt.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_hexz = args.first().is_some_and(|a| a.ends_with("hexz"));
        if is_hexz && args.iter().any(|a| a == "mount") && args.contains(&mnt) {
            out.push(pid);
        }
    }
    out
}

/// Cleans up whatever a failed test leaves: kills its foreground `hexz mount` and detaches
/// the mount.
struct Guard {
    mnt: PathBuf,
    child: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        if is_mounted(&self.mnt) {
            let c = std::ffi::CString::new(self.mnt.to_string_lossy().as_bytes()).expect("path");
            // SAFETY: `c` is a valid NUL-terminated path.
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

struct Fixture {
    dir: TempDir,
    src: PathBuf,
    archive: PathBuf,
    mnt: PathBuf,
}

fn fixture() -> Fixture {
    let dir = TempDir::new().expect("tempdir");
    let src = dir.path().join("src");
    make_tree(&src);
    let archive = dir.path().join("tree.hxz");
    ok([
        "pack",
        "-q",
        src.to_str().expect("utf-8"),
        archive.to_str().expect("utf-8"),
    ]);
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    Fixture {
        dir,
        src,
        archive,
        mnt,
    }
}

fn sh(dir: &Path, script: &str) -> String {
    let out: Output = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// What `find`, `stat` and `sha256sum` say about the tree under `dir` (the root itself aside:
/// its mode and time are the mount's).
fn describe(dir: &Path) -> [String; 3] {
    [
        sh(dir, "find . | LC_ALL=C sort"),
        sh(
            dir,
            "{ find . -mindepth 1 ! -type d -exec stat -c '%N|%F|%s|%a|%y|%h' {} + ; \
               find . -mindepth 1 -type d -exec stat -c '%N|%F|%a|%y|%h' {} + ; } | LC_ALL=C sort",
        ),
        sh(dir, "find . -type f -exec sha256sum {} + | LC_ALL=C sort"),
    ]
}

fn start_foreground(f: &Fixture) -> Guard {
    start_foreground_with(f, &[])
}

/// A foreground `hexz mount` of the fixture with `options` before the archive.
fn start_foreground_with(f: &Fixture, options: &[&str]) -> Guard {
    let mut args = vec!["mount"];
    args.extend(options);
    args.extend([
        f.archive.to_str().expect("utf-8"),
        f.mnt.to_str().expect("utf-8"),
    ]);
    let child = cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hexz mount");
    let guard = Guard {
        mnt: f.mnt.clone(),
        child: Some(child),
    };
    wait_for("the foreground mount", || is_mounted(&f.mnt));
    guard
}

/// Waits (with a deadline) for the foreground process to exit; returns its output.
/// Ends a foreground mount with SIGTERM: exit status 0, nothing left mounted.
fn sigterm_and_wait(g: &mut Guard, mnt: &Path) {
    let pid = g.child.as_ref().expect("child").id();
    // SAFETY: signals our own child process.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) }, 0);
    let out = wait_exit(g);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(mnt));
}

fn wait_exit(guard: &mut Guard) -> Output {
    let mut child = guard.child.take().expect("child");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("hexz mount did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn foreground_mount_ends_cleanly_on_sigterm() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let mut g = start_foreground(&f);
    assert_eq!(describe(&f.src), describe(&f.mnt));
    sigterm_and_wait(&mut g, &f.mnt);
    assert!(mount_processes(&f.mnt).is_empty());
}

#[test]
fn foreground_mount_exits_when_unmounted_from_outside() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let mut g = start_foreground(&f);
    ok(["unmount", f.mnt.to_str().expect("utf-8")]);
    let out = wait_exit(&mut g);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(&f.mnt));
    // Unmounting again: nothing is mounted there.
    let err = fails(["unmount", f.mnt.to_str().expect("utf-8")]);
    assert!(err.contains("not a mount point"), "{err}");
}

#[test]
fn daemon_is_ready_when_it_returns_and_matches_the_source() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let mnt = f.mnt.to_str().expect("utf-8");
    let _g = Guard {
        mnt: f.mnt.clone(),
        child: None,
    };
    let start = Instant::now();
    let out = ok(["mount", "--daemon", f.archive.to_str().expect("utf-8"), mnt]);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(String::from_utf8_lossy(&out).trim(), mnt);
    // Ready when the command returns: no waiting.
    assert!(is_mounted(&f.mnt));
    assert_eq!(mount_processes(&f.mnt).len(), 1, "one background process");
    assert_eq!(describe(&f.src), describe(&f.mnt));
    // /proc/mounts names the archive and the type.
    let info = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(mnt))
        .expect("mountinfo line");
    assert!(line.contains(" - fuse.hexz hexz:"), "{line}");
    assert!(line.contains(" ro,"), "{line}");

    ok(["unmount", mnt]);
    assert!(!is_mounted(&f.mnt));
    wait_for("the daemon to exit", || mount_processes(&f.mnt).is_empty());
}

#[test]
fn mountpoint_and_archive_errors() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let archive = f.archive.to_str().expect("utf-8");
    let missing = f.dir.path().join("missing");
    let corrupt = f.dir.path().join("corrupt.hxz");
    fs::write(&corrupt, crate::util::noise(10_000, 9)).expect("write");
    for daemon in [false, true] {
        let base: Vec<&str> = if daemon {
            vec!["mount", "--daemon"]
        } else {
            vec!["mount"]
        };
        let with = |a: &str, m: &Path| {
            let mut v = base.clone();
            v.push(a);
            let m = m.to_str().expect("utf-8").to_string();
            fails(
                v.into_iter()
                    .map(String::from)
                    .chain([m])
                    .collect::<Vec<_>>(),
            )
        };
        let err = with(archive, &missing);
        assert!(err.contains("does not exist"), "{err}");
        let err = with(archive, &f.src);
        assert!(err.contains("not empty"), "{err}");
        let err = with(archive, &f.archive);
        assert!(err.contains("not a directory"), "{err}");
        let err = with(corrupt.to_str().expect("utf-8"), &f.mnt);
        assert!(err.contains("not a hexz archive"), "{err}");
        for m in [&missing, &f.src, &f.archive, &f.mnt] {
            assert!(!is_mounted(m));
            assert!(mount_processes(m).is_empty());
        }
    }
    let err = fails(["unmount", "/proc"]);
    assert!(err.contains("not a hexz mount"), "{err}");
}

#[test]
fn help_teaches_mounting_and_unmounting() {
    let help = String::from_utf8(ok(["mount", "--help"])).expect("utf-8");
    for want in [
        "--daemon",
        "--cache-size",
        "hexz unmount",
        "EIO",
        "EXAMPLES",
    ] {
        assert!(help.contains(want), "mount --help lacks {want:?}");
    }
    let help = String::from_utf8(ok(["unmount", "--help"])).expect("utf-8");
    assert!(help.contains("--lazy"));
}

/// Mounts `url` with `--daemon` (environment `env`), compares it with `src`, unmounts.
fn mount_remote(url: &str, env: &[(&str, &str)], src: &Path, mnt: &Path) {
    let _g = Guard {
        mnt: mnt.to_path_buf(),
        child: None,
    };
    let out = cmd(["mount", "--daemon", url, mnt.to_str().expect("utf-8")])
        .envs(env.iter().copied())
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "mount {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(is_mounted(mnt));
    assert_eq!(describe(src), describe(mnt), "{url}");
    ok(["unmount", mnt.to_str().expect("utf-8")]);
    assert!(!is_mounted(mnt));
    wait_for("the daemon to exit", || mount_processes(mnt).is_empty());
}

#[test]
fn mounts_over_http_and_s3() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let root = f.dir.path().join("www");
    fs::create_dir(&root).expect("mkdir");
    fs::copy(&f.archive, root.join("t.hxz")).expect("copy");
    let state = TempDir::new().expect("tempdir");
    let nginx = crate::servers::nginx(&root, state.path());
    mount_remote(&format!("{}/t.hxz", nginx.base_url()), &[], &f.src, &f.mnt);

    let moto = crate::servers::moto(state.path());
    assert_eq!(
        crate::servers::http_status(moto.port, "PUT", "/hexz-mount"),
        200
    );
    let data = fs::read(&f.archive).expect("read");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", moto.port)).expect("connect");
    use std::io::{Read, Write};
    write!(
        s,
        "PUT /hexz-mount/t.hxz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        moto.port,
        data.len()
    )
    .expect("send");
    s.write_all(&data).expect("send body");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("response");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let endpoint = moto.base_url();
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    mount_remote("s3://hexz-mount/t.hxz", &env, &f.src, &f.mnt);
}

/// The fixture's tree packed again with `--encrypt` and the key of `env` or `key_args`, in
/// place of the fixture's archive.
fn encrypt_fixture(f: &mut Fixture, key_args: &[&str], env: &[(&str, &str)]) {
    let archive = f.dir.path().join("enc.hxz");
    let mut args = vec![
        "pack",
        "-q",
        "--encrypt",
        "--kdf-memory",
        "64",
        "--kdf-iterations",
        "1",
    ];
    args.extend(key_args);
    args.extend([
        f.src.to_str().expect("utf-8"),
        archive.to_str().expect("utf-8"),
    ]);
    let out = cmd(args)
        .env_remove("HEXZ_KEY")
        .env_remove("HEXZ_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.archive = archive;
}

/// `hexz mount` with `args` and `env` (no key variables from the caller's environment):
/// expects exit status 1, one `hexz: error:` line containing `want`, and nothing mounted or
/// still running at `mnt`.
fn mount_fails(args: &[&str], env: &[(&str, &str)], mnt: &Path, want: &str) {
    let out = cmd(args)
        .env_remove("HEXZ_KEY")
        .env_remove("HEXZ_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("spawn");
    crate::util::assert_no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "hexz {args:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "hexz {args:?}: {err:?}");
    assert!(lines[0].starts_with("hexz: error: "), "{err}");
    assert!(lines[0].contains(want), "hexz {args:?}: {err}");
    assert!(!is_mounted(mnt), "hexz {args:?} left a mount");
    wait_for("no hexz mount process", || mount_processes(mnt).is_empty());
    assert!(
        fs::read_dir(mnt).expect("mountpoint").next().is_none(),
        "the mountpoint is not empty"
    );
}

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[test]
fn encrypted_archive_mounts_with_a_key_file() {
    if !can_mount() {
        return;
    }
    let mut f = fixture();
    let key = f.dir.path().join("archive.key");
    fs::write(&key, format!("{KEY_HEX}\n")).expect("write key");
    let key = key.to_str().expect("utf-8").to_string();
    encrypt_fixture(&mut f, &["--key-file", &key], &[]);

    // Foreground, --key-file; ended by SIGTERM.
    let mut g = start_foreground_with(&f, &["--key-file", &key]);
    assert_eq!(describe(&f.src), describe(&f.mnt));
    sigterm_and_wait(&mut g, &f.mnt);

    // --daemon with HEXZ_KEY: the background process gets the key from the environment.
    let mnt = f.mnt.to_str().expect("utf-8");
    let archive = f.archive.to_str().expect("utf-8");
    let _g = Guard {
        mnt: f.mnt.clone(),
        child: None,
    };
    let out = cmd(["mount", "--daemon", archive, mnt])
        .env_remove("HEXZ_PASSWORD")
        .env("HEXZ_KEY", KEY_HEX)
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(is_mounted(&f.mnt));
    assert_eq!(describe(&f.src), describe(&f.mnt));
    ok(["unmount", mnt]);
    assert!(!is_mounted(&f.mnt));
    wait_for("the daemon to exit", || mount_processes(&f.mnt).is_empty());

    // A wrong key, a passphrase for a raw-key archive, no key: one line, nothing mounted.
    let wrong = f.dir.path().join("wrong.key");
    fs::write(&wrong, [0x5a; 32]).expect("write key");
    let wrong = wrong.to_str().expect("utf-8");
    let expected = format!("wrong key or password for {archive}");
    for mount in [&["mount"][..], &["mount", "--daemon"]] {
        let key_file = [mount, &["--key-file", wrong, archive, mnt]].concat();
        mount_fails(&key_file, &[], &f.mnt, &expected);
        let no_key = [mount, &[archive, mnt]].concat();
        mount_fails(&no_key, &[("HEXZ_PASSWORD", "nope")], &f.mnt, &expected);
        mount_fails(&no_key, &[], &f.mnt, "is encrypted");
    }
}

#[test]
fn encrypted_archive_mounts_with_a_passphrase() {
    if !can_mount() {
        return;
    }
    let mut f = fixture();
    let env = [("HEXZ_PASSWORD", "correct horse")];
    encrypt_fixture(&mut f, &[], &env);
    let mnt = f.mnt.to_str().expect("utf-8");
    let archive = f.archive.to_str().expect("utf-8");

    // --daemon with HEXZ_PASSWORD.
    {
        let _g = Guard {
            mnt: f.mnt.clone(),
            child: None,
        };
        let out = cmd(["mount", "--daemon", archive, mnt])
            .env_remove("HEXZ_KEY")
            .envs(env)
            .output()
            .expect("spawn");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), mnt);
        assert!(is_mounted(&f.mnt));
        assert_eq!(mount_processes(&f.mnt).len(), 1, "one background process");
        assert_eq!(describe(&f.src), describe(&f.mnt));
        ok(["unmount", mnt]);
        assert!(!is_mounted(&f.mnt));
        wait_for("the daemon to exit", || mount_processes(&f.mnt).is_empty());
    }

    // Foreground with --password-file; ended by `hexz unmount`.
    let pw = f.dir.path().join("pw.txt");
    fs::write(&pw, "correct horse\n").expect("write");
    let pw = pw.to_str().expect("utf-8").to_string();
    let mut g = start_foreground_with(&f, &["--password-file", &pw]);
    assert_eq!(describe(&f.src), describe(&f.mnt));
    ok(["unmount", mnt]);
    let out = wait_exit(&mut g);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(&f.mnt));

    // A wrong passphrase, foreground and daemon.
    let expected = format!("wrong key or password for {archive}");
    let wrong = [("HEXZ_PASSWORD", "correct horse ")];
    mount_fails(&["mount", archive, mnt], &wrong, &f.mnt, &expected);
    mount_fails(&["mount", "-d", archive, mnt], &wrong, &f.mnt, &expected);
}

/// A signed archive mounts with `--verify-key` (foreground and `--daemon`, which passes the
/// option on to its background process); another signer's key mounts nothing.
#[test]
fn signed_archive_mounts_with_its_public_key() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    let keys = f.dir.path().join("keys");
    let keys_arg = keys.to_str().expect("utf-8");
    ok(["keygen", "-q", "-o", keys_arg]);
    ok(["keygen", "-q", "-o", keys_arg, "--name", "other"]);
    let archive = f.archive.to_str().expect("utf-8");
    let key = keys.join("hexz.key");
    ok([
        "sign",
        "-q",
        archive,
        "--signing-key",
        key.to_str().expect("utf-8"),
    ]);
    let public = keys.join("hexz.pub");
    let public = public.to_str().expect("utf-8");

    let mut g = start_foreground_with(&f, &["--verify-key", public]);
    assert_eq!(describe(&f.src), describe(&f.mnt));
    sigterm_and_wait(&mut g, &f.mnt);

    let mnt = f.mnt.to_str().expect("utf-8");
    let _g = Guard {
        mnt: f.mnt.clone(),
        child: None,
    };
    ok(["mount", "--daemon", "--verify-key", public, archive, mnt]);
    assert_eq!(describe(&f.src), describe(&f.mnt));
    ok(["unmount", mnt]);
    assert!(!is_mounted(&f.mnt));

    let other = keys.join("other.pub");
    let other = other.to_str().expect("utf-8");
    for daemon in [false, true] {
        let mut args = vec!["mount", "--verify-key", other, archive, mnt];
        if daemon {
            args.insert(1, "--daemon");
        }
        mount_fails(&args, &[], &f.mnt, "not by the expected key");
    }
}

/// A thin archive (`pack --parent`) mounts like any other: its files read through the parent.
#[test]
fn a_thin_archive_mounts_and_reads_through_its_parent() {
    if !can_mount() {
        return;
    }
    let f = fixture();
    // v2: the fixture's tree with one more file, thin on the fixture's archive.
    let extra = f.src.join("added.txt");
    fs::write(&extra, b"only in v2\n").expect("write");
    let thin = f.dir.path().join("v2.hxz");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    ok([
        "pack",
        "-q",
        "--parent",
        &s(&f.archive),
        &s(&f.src),
        &s(&thin),
    ]);
    let thin_len = fs::metadata(&thin).expect("stat").len();
    assert!(thin_len < fs::metadata(&f.archive).expect("stat").len());
    let _g = Guard {
        mnt: f.mnt.clone(),
        child: None,
    };
    ok(["mount", "--daemon", &s(&thin), &s(&f.mnt)]);
    assert_eq!(describe(&f.src), describe(&f.mnt));
    ok(["unmount", &s(&f.mnt)]);
    wait_for("the daemon to exit", || mount_processes(&f.mnt).is_empty());
}
