//! `hexz pack INPUT s3://bucket/key` against a real S3-compatible server (moto_server) on
//! 127.0.0.1: the upload, what a failed or interrupted pack leaves (nothing, and no multipart
//! uploads), and the errors.
// Without the `s3` feature only the refusals are tested.
#![cfg_attr(not(feature = "s3"), allow(dead_code, unused_imports))]

use crate::servers;
use crate::util::{assert_no_panic, make_tree, noise, ok, put};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BUCKET: &str = "hexz-pack";

/// One plain HTTP/1.1 request to moto (it does not check signatures): status and body. The
/// objects are read the same way, so the bucket is made public-read.
fn request(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         x-amz-acl: public-read\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("send");
    s.write_all(body).expect("send body");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).expect("read response");
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of the response head");
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad response head {head:?}"));
    (status, resp[split + 4..].to_vec())
}

/// The object at `key`, or `None` when there is none.
fn object(port: u16, key: &str) -> Option<Vec<u8>> {
    match request(port, "GET", &format!("/{BUCKET}/{key}"), b"") {
        (200, body) => Some(body),
        (404, _) => None,
        (status, body) => panic!("GET {key}: {status} {}", String::from_utf8_lossy(&body)),
    }
}

/// How many multipart uploads are in progress in the bucket (ListMultipartUploads).
fn uploads(port: u16) -> usize {
    let (status, body) = request(port, "GET", &format!("/{BUCKET}?uploads"), b"");
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ListMultipartUploadsResult"), "{body}");
    body.matches("<UploadId>").count()
}

/// `hexz` with `args` and only the AWS settings of a moto at `endpoint` (none from the
/// environment or a profile), and `--endpoint-url` unless `endpoint_in_env`.
fn hexz(endpoint: &str, endpoint_in_env: bool, args: &[&str]) -> Command {
    let mut all = Vec::new();
    if !endpoint_in_env {
        all.extend(["--endpoint-url", endpoint]);
    }
    all.extend_from_slice(args);
    let mut c = crate::util::cmd(&all);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("HOME", "/nonexistent")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1");
    if endpoint_in_env {
        c.env("AWS_ENDPOINT_URL", endpoint);
    }
    c
}

fn succeeded(out: &Output, what: &str) {
    assert_no_panic(out);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(feature = "s3")]
#[test]
fn pack_to_s3() {
    let state = tempfile::tempdir().expect("tempdir");
    let moto = servers::moto(state.path());
    let endpoint = moto.base_url();
    let port = moto.port;
    assert_eq!(request(port, "PUT", &format!("/{BUCKET}"), b"").0, 200);

    // A tree of ~22 MB (three 8 MiB parts), packed straight to S3.
    let src = tempfile::tempdir().expect("tempdir");
    make_tree(src.path());
    put(
        &src.path().join("big/noise.bin"),
        &noise(19 << 20, 11),
        0o644,
        1_600_000_000,
        5,
    );
    let url = format!("s3://{BUCKET}/trees/x.hxz");
    let src_arg = src.path().to_str().expect("utf-8");
    let out = hexz(&endpoint, true, &["pack", src_arg, &url])
        .output()
        .expect("spawn");
    succeeded(&out, "pack to s3");
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains(&format!("into {url}")), "{summary}");
    assert_eq!(uploads(port), 0, "completed, none left");

    // The object is a valid archive of the tree: download it, verify and extract it.
    let bytes = object(port, "trees/x.hxz").expect("the object exists");
    assert!(bytes.len() > 16 << 20, "{} bytes", bytes.len());
    let dl = tempfile::tempdir().expect("tempdir");
    let local = dl.path().join("x.hxz");
    std::fs::write(&local, &bytes).expect("write");
    let local_arg = local.to_str().expect("utf-8");
    ok(["verify", local_arg]);
    let back = dl.path().join("back");
    ok(["extract", "-q", local_arg, back.to_str().expect("utf-8")]);
    crate::util::assert_same_tree(src.path(), &back);
    // And read remotely, it lists the same entries.
    let out = hexz(&endpoint, false, &["ls", "-l", &url])
        .output()
        .expect("spawn");
    succeeded(&out, "ls over s3");
    assert_eq!(out.stdout, ok(["ls", "-l", local_arg]));

    // --endpoint-url instead of the environment, over an existing object: replaced.
    let file = src.path().join("one");
    let out = hexz(
        &endpoint,
        false,
        &["pack", "-q", file.to_str().expect("utf-8"), &url],
    )
    .output()
    .expect("spawn");
    succeeded(&out, "pack a file to s3");
    let out = hexz(&endpoint, false, &["cat", &url, "one"])
        .output()
        .expect("spawn");
    succeeded(&out, "cat over s3");
    assert_eq!(out.stdout, b"x");

    // Ctrl-C (and SIGTERM) during an upload: exit 130, the existing object unchanged, the
    // upload aborted.
    let precious = b"precious bytes".to_vec();
    assert_eq!(
        request(port, "PUT", &format!("/{BUCKET}/keep.hxz"), &precious).0,
        200
    );
    let keep = format!("s3://{BUCKET}/keep.hxz");
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = hexz(&endpoint, false, &["pack", "-q", "-", &keep])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stdin = child.stdin.as_mut().expect("stdin");
        for i in 0..12 {
            stdin.write_all(&noise(1 << 20, i)).expect("feed");
        }
        stdin.flush().expect("flush");
        // Wait until the upload is under way (the pack started it and sent a part).
        let deadline = Instant::now() + Duration::from_secs(30);
        while uploads(port) == 0 {
            assert!(Instant::now() < deadline, "the upload never started");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: sends a signal to our own child process, which is still running (its stdin
        // is open, so it waits for more input).
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(err.starts_with("hexz: error: interrupted"), "{err}");
        assert!(err.contains(&keep), "{err}");
        assert_eq!(object(port, "keep.hxz"), Some(precious.clone()));
        assert_eq!(uploads(port), 0, "aborted");
    }

    // A pack that fails mid-way (the --memory file, opened after the disk stream was packed,
    // is missing) over an existing object: the object unchanged, the upload aborted.
    let disk = state.path().join("disk.img");
    std::fs::write(&disk, noise(18 << 20, 3)).expect("write");
    let out = hexz(
        &endpoint,
        false,
        &[
            "pack",
            "-q",
            "--raw",
            disk.to_str().expect("utf-8"),
            "--memory",
            "/nonexistent/ram.bin",
            &keep,
        ],
    )
    .output()
    .expect("spawn");
    assert_no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/nonexistent/ram.bin"), "{err}");
    assert_eq!(object(port, "keep.hxz"), Some(precious.clone()));
    assert_eq!(uploads(port), 0, "aborted");

    // A missing bucket: one error line naming the URL and the bucket, nothing created.
    let missing = "s3://no-such-bucket/x.hxz";
    let out = hexz(&endpoint, false, &["pack", "-q", src_arg, missing])
        .output()
        .expect("spawn");
    assert_no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("hexz: error: ")
            && err.contains(missing)
            && err.contains("bucket \"no-such-bucket\" does not exist"),
        "{err}"
    );
}

#[test]
fn pack_to_http_is_refused() {
    let src = tempfile::tempdir().expect("tempdir");
    make_tree(src.path());
    let err = crate::util::fails([
        "pack",
        src.path().to_str().expect("utf-8"),
        "http://127.0.0.1:1/x.hxz",
    ]);
    assert!(err.contains("HTTP servers are read-only"), "{err}");
}

#[cfg(not(feature = "s3"))]
#[test]
fn pack_to_s3_needs_the_feature() {
    let src = tempfile::tempdir().expect("tempdir");
    make_tree(src.path());
    let err = crate::util::fails([
        "pack",
        src.path().to_str().expect("utf-8"),
        "s3://bucket/x.hxz",
    ]);
    assert!(err.contains("s3 needs the `s3` feature"), "{err}");
}
