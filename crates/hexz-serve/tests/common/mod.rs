//! Archives to serve, a server on a free port of 127.0.0.1, and a real HTTP client (`curl`).
//!
//! `curl` must be installed: a test that needs it fails with a message saying so, never skips.
#![allow(dead_code, clippy::unwrap_used)]

use hexz_core::{ArchiveWriter, EntryMeta, WriteOptions};
use hexz_serve::{Options, Server, ServerHandle};
use hexz_testkit::data::noise;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes a multi-block archive (about 1.5 MB, mostly incompressible, so several 256 KiB
/// chunks long) with a few entries to `path`.
pub fn write_archive(path: &Path) {
    let opts = WriteOptions {
        block_size: 16 * 1024,
        threads: 2,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).unwrap();
    w.add_bytes("data/noise.bin", &noise(1_300_000, 7), EntryMeta::default())
        .unwrap();
    w.add_bytes(
        "data/pattern.bin",
        &hexz_core::conformance::pattern(300_000),
        EntryMeta::default(),
    )
    .unwrap();
    w.add_bytes("data/zeros.bin", &vec![0u8; 200_000], EntryMeta::default())
        .unwrap();
    w.add_bytes(
        "readme.txt",
        b"hello over hexz serve\n",
        EntryMeta::default(),
    )
    .unwrap();
    w.add_bytes("empty", b"", EntryMeta::default()).unwrap();
    w.finish().unwrap();
}

/// A temporary directory holding `a.hxz` and a server for it on 127.0.0.1, port 0.
pub struct Served {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub server: ServerHandle,
}

impl Served {
    /// The archive's URL.
    pub fn url(&self) -> String {
        self.server.url("a.hxz")
    }
}

/// Packs `a.hxz` in a new temporary directory and serves it (quietly).
pub fn serve_archive() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.hxz");
    write_archive(&path);
    let server = spawn(std::slice::from_ref(&path), true);
    Served { dir, path, server }
}

/// Serves `paths` on a free port of 127.0.0.1, quietly, in the background.
pub fn spawn(paths: &[PathBuf], check_archives: bool) -> ServerHandle {
    let options = Options {
        quiet: true,
        check_archives,
        ..Options::default()
    };
    spawn_with(paths, &options)
}

/// Serves `paths` on a free port of 127.0.0.1 with `options`, in the background.
pub fn spawn_with(paths: &[PathBuf], options: &Options) -> ServerHandle {
    Server::bind_with("127.0.0.1:0".parse().unwrap(), paths, options)
        .unwrap()
        .spawn()
        .unwrap()
}

/// `curl`, or a failed test saying how to install it.
pub fn curl_path() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("curl")).collect())
        .unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/bin/curl"))
        .chain(candidates)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "curl not found (looked at /usr/bin/curl and PATH): these tests use a real HTTP \
                 client; install curl (Debian: apt-get install curl)"
            )
        })
}

/// One response as curl saw it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (first occurrence).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Runs `curl -sS <args> URL` and returns the response: status, headers and body.
pub fn curl(args: &[&str], url: &str) -> Response {
    let tmp = tempfile::tempdir().unwrap();
    let (hdr, body) = (tmp.path().join("headers"), tmp.path().join("body"));
    let out = Command::new(curl_path())
        .args(["-sS", "--max-time", "60", "-D"])
        .arg(&hdr)
        .arg("-o")
        .arg(&body)
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&hdr).unwrap();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: std::fs::read(&body).unwrap_or_default(),
    }
}
