//! `hexz serve`: a real server process on a free port, read with `curl` and with `hexz` itself,
//! stopped with SIGTERM.

use crate::util::{arg, cmd, fails, make_tree, ok};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// `curl`, or a failed test saying how to install it (never a skip).
fn curl() -> Command {
    let path = [PathBuf::from("/usr/bin/curl")]
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .map(|d| d.join("curl"))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        )
        .find(|p| p.is_file())
        .expect(
            "curl not found (looked at /usr/bin/curl and PATH): install curl \
             (Debian: apt-get install curl)",
        );
    let mut c = Command::new(path);
    c.args(["-sS", "--fail", "--max-time", "60"]);
    c
}

/// Packs the test tree into `dir/tree.hxz`.
fn packed(dir: &Path) -> PathBuf {
    make_tree(&dir.join("src"));
    ok(["pack", "-q", &arg(dir, "src"), &arg(dir, "tree.hxz")]);
    dir.join("tree.hxz")
}

/// Starts `hexz serve ARGS` and reads the base URL from its first line of stdout.
fn start(args: &[&str]) -> (Child, String) {
    let mut child = cmd(["serve"].iter().chain(args))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hexz serve");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read stdout");
    // "Serving 1 archive on URL", "Serving 2 archives on URL".
    let Some(url) = line
        .trim_end()
        .strip_prefix("Serving ")
        .and_then(|rest| rest.split_once(" on "))
        .map(|(_, url)| url.to_string())
    else {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
        panic!("unexpected first line {line:?}; stderr: {err}");
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (child, url)
}

/// Sends SIGTERM and returns the exit code and stderr (and checks stdout has nothing left).
fn terminate(child: Child) -> (Option<i32>, String) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to our own child process, which is still running.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().expect("wait");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serves_ranges_and_stops_on_sigterm() {
    let t = TempDir::new().expect("tempdir");
    let archive = packed(t.path());
    let bytes = std::fs::read(&archive).expect("read archive");
    let (child, base) = start(&["--bind", "127.0.0.1:0", &archive.to_string_lossy()]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with(":0/"), "the actual port is printed: {base}");
    let url = format!("{base}tree.hxz");

    // curl: a range across the archive, and a suffix.
    let (a, b) = (100, bytes.len() - 100);
    let out = curl()
        .args(["-r", &format!("{a}-{}", b - 1), &url])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == bytes[a..b], "range bytes differ");
    let out = curl().args(["-r", "-64", &url]).output().expect("curl");
    assert!(out.stdout == bytes[bytes.len() - 64..]);

    // hexz itself reads the served archive like a local one.
    let remote = ok(["cat", &url, "a/b/c/big.bin"]);
    assert!(remote == std::fs::read(t.path().join("src/a/b/c/big.bin")).expect("read"));
    let listing = ok(["ls", &url]);
    assert_eq!(listing, ok(["ls", &archive.to_string_lossy()]));

    let (code, err) = terminate(child);
    assert_eq!(code, Some(0), "clean exit on SIGTERM; stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("\"GET /tree.hxz HTTP/1.1\" 206 "), "{err}");
    assert!(err.contains("shutting down (SIGTERM)"), "{err}");
}

#[test]
fn quiet_prints_nothing_and_other_addresses_warn() {
    let t = TempDir::new().expect("tempdir");
    let archive = packed(t.path());
    // Every interface: a warning about the missing authentication (also with -q).
    let (child, base) = start(&["--bind", "0.0.0.0:0", &archive.to_string_lossy()]);
    let port = base
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .expect("port")
        .to_string();
    let out = curl()
        .args(["-r", "0-3", &format!("http://127.0.0.1:{port}/tree.hxz")])
        .output()
        .expect("curl");
    assert_eq!(out.stdout, bytes_of(&archive, 4));
    let (code, err) = terminate(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning: listening on 0.0.0.0:"), "{err}");
    assert!(err.contains("no authentication"), "{err}");

    // -q: no banner, no access log; the warning stays. A fixed port, since none is printed.
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = cmd([
        "serve",
        "-q",
        "--bind",
        &format!("0.0.0.0:{port}"),
        &archive.to_string_lossy(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn");
    // Once a request is answered, the server runs (and handles SIGTERM).
    let url = format!("http://127.0.0.1:{port}/tree.hxz");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = curl().args(["-r", "0-3", &url]).output().expect("curl");
        if out.status.success() {
            assert_eq!(out.stdout, bytes_of(&archive, 4));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "hexz serve -q never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, err) = terminate(child);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("hexz: warning: "), "{err}");
}

fn bytes_of(path: &Path, n: usize) -> Vec<u8> {
    std::fs::read(path).expect("read")[..n].to_vec()
}

#[test]
fn refuses_bad_arguments() {
    let t = TempDir::new().expect("tempdir");
    let archive = packed(t.path());
    let a = archive.to_string_lossy().into_owned();

    let bad = t.path().join("bad.hxz");
    let mut data = std::fs::read(&archive).expect("read");
    data.truncate(data.len() / 2);
    std::fs::write(&bad, data).expect("write");
    let err = fails(["serve", "--bind", "127.0.0.1:0", &a, &bad.to_string_lossy()]);
    assert!(err.contains("refusing to serve"), "{err}");
    assert!(err.contains(&*bad.to_string_lossy()), "{err}");

    std::fs::create_dir(t.path().join("copy")).expect("mkdir");
    let copy = t.path().join("copy/tree.hxz");
    std::fs::copy(&archive, &copy).expect("copy");
    let err = fails([
        "serve",
        "--bind",
        "127.0.0.1:0",
        &a,
        &copy.to_string_lossy(),
    ]);
    assert!(
        err.contains("two archives would be served as /tree.hxz"),
        "{err}"
    );

    let err = fails([
        "serve",
        "--bind",
        "127.0.0.1:0",
        &arg(t.path(), "missing.hxz"),
    ]);
    assert!(err.contains("missing.hxz"), "{err}");

    let out = crate::util::run(["serve", "--bind", "localhost", &a]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let out = crate::util::run(["serve"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

#[test]
fn timeouts_and_connection_limit_flags() {
    let help = String::from_utf8_lossy(&ok(["serve", "--help"])).into_owned();
    for flag in ["--header-timeout", "--send-timeout", "--max-connections"] {
        assert!(help.contains(flag), "{flag} missing from --help: {help}");
    }
    assert!(help.contains("503"), "{help}");
    for bad in [
        ["--max-connections", "0"],
        ["--header-timeout", "0"],
        ["--send-timeout", "x"],
    ] {
        let out = crate::util::run(["serve", bad[0], bad[1], "x.hxz"]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: a usage error");
    }

    let t = TempDir::new().expect("tempdir");
    let archive = packed(t.path());
    let (child, base) = start(&[
        "--bind",
        "127.0.0.1:0",
        "--header-timeout",
        "1",
        "--max-connections",
        "1",
        &archive.to_string_lossy(),
    ]);
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    // An idle connection holds the one slot: the next client is told to retry.
    let mut idle = std::net::TcpStream::connect(&addr).expect("connect");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let busy = curl()
        .args(["-o", "/dev/null", "-w", "%{http_code}", "--no-fail"])
        .arg(format!("{base}tree.hxz"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&busy.stdout), "503");
    // ... until --header-timeout closes it.
    let start = std::time::Instant::now();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    assert_eq!(
        idle.read(&mut buf).unwrap_or(0),
        0,
        "bytes on an idle connection"
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "idle connection open for {:?}",
        start.elapsed()
    );
    let out = curl()
        .args(["-r", "0-3", &format!("{base}tree.hxz")])
        .output()
        .expect("curl");
    assert_eq!(out.stdout, bytes_of(&archive, 4));
    let (code, err) = terminate(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("connection limit (1) reached"), "{err}");
}

/// A thin archive served beside its parent: `hexz` finds the parent at the URL beside the
/// child's and reads through it.
#[test]
fn a_thin_archive_served_beside_its_parent_reads_through_it() {
    let t = TempDir::new().expect("tempdir");
    let base = packed(t.path());
    let src = t.path().join("src");
    std::fs::write(src.join("added.txt"), b"only in v2\n").expect("write");
    let thin = t.path().join("v2.hxz");
    let (s, b, v) = (
        src.to_string_lossy().into_owned(),
        base.to_string_lossy().into_owned(),
        thin.to_string_lossy().into_owned(),
    );
    ok(["pack", "-q", "--parent", &b, &s, &v]);
    let (child, url) = start(&["--bind", "127.0.0.1:0", &b, &v]);
    let remote = ok(["cat", &format!("{url}v2.hxz"), "a/b/c/big.bin"]);
    assert!(remote == std::fs::read(src.join("a/b/c/big.bin")).expect("read"));
    assert_eq!(
        ok(["cat", &format!("{url}v2.hxz"), "added.txt"]),
        b"only in v2\n"
    );
    let (code, err) = terminate(child);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("\"GET /tree.hxz HTTP/1.1\" 206 "),
        "the parent was read: {err}"
    );
}
