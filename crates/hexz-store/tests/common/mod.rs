//! Real servers on 127.0.0.1 for the integration tests, and archives to serve.
//!
//! Each server runs as a child process on a free port; [`Server`]'s `Drop` kills it. A server that
//! cannot start fails the test with a message saying what to install, never skips it.
#![allow(dead_code, clippy::unwrap_used)]

use hexz_core::{Archive, ArchiveWriter, EntryMeta, ReadOptions, WriteOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server child process, killed when dropped.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    name: &'static str,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts `cmd` (stdout and stderr to `log`) and waits until `port` accepts connections.
    fn start(name: &'static str, mut cmd: Command, port: u16, log: PathBuf) -> Server {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let mut server = Server {
            child,
            port,
            name,
            log,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}) before accepting connections; its output:\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not listen on 127.0.0.1:{} within 30 s; its output:\n{}",
                    self.name,
                    self.port,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The first of `candidates` that is an existing file, else `name` found on `PATH`.
fn find_binary(env: &str, candidates: &[PathBuf], name: &str, install_hint: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "{env}={} is not a file", p.display());
        return p;
    }
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return p.clone();
    }
    if let Some(paths) = std::env::var_os("PATH") {
        if let Some(p) = std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
        {
            return p;
        }
    }
    panic!(
        "{name} not found (looked at ${env}, {candidates:?} and PATH); {install_hint}, \
         or set {env} to its path"
    );
}

fn hexz_cache() -> PathBuf {
    std::env::var_os("HEXZ_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/hexz")))
        .unwrap_or_else(|| PathBuf::from(".cache/hexz"))
}

/// nginx serving `root` (a directory) on a free port; logs, pid and temp files under `state`.
pub fn nginx(root: &Path, state: &Path) -> Server {
    let bin = find_binary(
        "HEXZ_NGINX",
        &[PathBuf::from("/usr/sbin/nginx")],
        "nginx",
        "install it with `make apt-build` (Debian package nginx-light)",
    );
    let port = free_port();
    let user = |flag: &str| {
        Command::new("id")
            .arg(flag)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    // Workers of a root master drop to `user`; keep them able to read the temp dir.
    let user_line = match (user("-un"), user("-gn")) {
        (Some(u), Some(g)) if user("-u").as_deref() == Some("0") => format!("user {u} {g};"),
        _ => String::new(),
    };
    let s = state.display();
    let conf = format!(
        "{user_line}
# One process: killing it (Server::drop) leaves no orphaned workers behind.
master_process off;
worker_processes 1;
pid {s}/nginx.pid;
error_log {s}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {s}/access.log;
    client_body_temp_path {s}/body;
    proxy_temp_path {s}/proxy;
    fastcgi_temp_path {s}/fastcgi;
    uwsgi_temp_path {s}/uwsgi;
    scgi_temp_path {s}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
",
        root = root.display()
    );
    let conf_path = state.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-p")
        .arg(state)
        .arg("-e")
        .arg(state.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .arg("-g")
        .arg("daemon off;");
    Server::start("nginx", cmd, port, state.join("nginx.out"))
}

/// nginx serving a fresh temporary directory, with its state in another; both go when dropped.
pub struct TempNginx {
    /// The server.
    pub server: Server,
    /// The directory it serves.
    pub root: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl TempNginx {
    /// Starts nginx on a free port over a new empty directory.
    pub fn start() -> TempNginx {
        let root = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let server = nginx(root.path(), state.path());
        TempNginx {
            server,
            root,
            state,
        }
    }

    /// The URL of `name` in the served directory.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.server.base_url())
    }

    /// Requests nginx has served so far. nginx logs a request just after answering it, so
    /// this waits until the count holds still for 50 ms.
    pub fn requests(&self) -> usize {
        let mut last = nginx_requests(self.state.path()).len();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let now = nginx_requests(self.state.path()).len();
            if now == last {
                return now;
            }
            last = now;
        }
    }
}

/// The requests nginx started with [`nginx`] on `state` has logged so far, one line each.
pub fn nginx_requests(state: &Path) -> Vec<String> {
    std::fs::read_to_string(state.join("access.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// moto_server (an S3-compatible server) on a free port.
pub fn moto(state: &Path) -> Server {
    let bin = find_binary(
        "HEXZ_MOTO_SERVER",
        &[hexz_cache().join("venv/bin/moto_server")],
        "moto_server",
        "install it with `make venv` (moto[server] from requirements-dev.txt)",
    );
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    Server::start("moto_server", cmd, port, state.join("moto.out"))
}

/// Sends one plain HTTP/1.1 request and returns the status code.
pub fn http_status(port: u16, method: &str, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad HTTP response: {resp:?}"))
}

/// Writes a multi-block archive with a few entries to `path`.
pub fn write_archive(path: &Path) {
    let opts = WriteOptions {
        block_size: 16 * 1024,
        threads: 2,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).unwrap();
    let big = hexz_core::conformance::pattern(700_000);
    w.add_bytes("data/big.bin", &big, EntryMeta::default())
        .unwrap();
    w.add_bytes("data/zeros.bin", &vec![0u8; 200_000], EntryMeta::default())
        .unwrap();
    w.add_bytes(
        "readme.txt",
        b"hello from a remote archive\n",
        EntryMeta::default(),
    )
    .unwrap();
    w.finish().unwrap();
}

/// Compares `remote` with the same archive opened locally from `local`.
pub fn compare_with_local(remote: &Archive, local: &Path) {
    let local = Archive::open_with_options(local, ReadOptions::default()).unwrap();
    assert_eq!(remote.len(), local.len(), "logical length");
    assert_eq!(remote.file_len(), local.file_len(), "file length");
    let len = local.len();
    // Everything, sequentially.
    let mut off = 0;
    while off < len {
        let n = (len - off).min(100_003) as usize;
        assert_eq!(
            remote.read_vec(off, n).unwrap(),
            local.read_vec(off, n).unwrap(),
            "read at {off}"
        );
        off += n as u64;
    }
    // Scattered small reads.
    let mut x = 0x1234_5678_9abc_def1u64;
    for _ in 0..50 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let off = x % len;
        let n = ((x >> 40) % 5000).min(len - off) as usize;
        assert_eq!(
            remote.read_vec(off, n).unwrap(),
            local.read_vec(off, n).unwrap()
        );
    }
    let names: Vec<String> = remote
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert!(names.contains(&"readme.txt".to_string()), "{names:?}");
    let e = remote.entry("readme.txt").unwrap().unwrap();
    let mut buf = vec![0u8; 64];
    let n = remote.read_entry_at(&e, 0, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello from a remote archive\n");
    assert_eq!(remote.root_hash(), local.root_hash());
}

/// `len` bytes that do not compress (xorshift).
pub fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes `data` as one entry (`data.bin`) in blocks of `block_size`.
pub fn write_bytes_archive(path: &Path, data: &[u8], block_size: u32) {
    let opts = WriteOptions {
        block_size,
        threads: 2,
        ..WriteOptions::default()
    };
    let mut w = ArchiveWriter::create(path, opts).unwrap();
    w.add_bytes("data.bin", data, EntryMeta::default()).unwrap();
    w.finish().unwrap();
}
