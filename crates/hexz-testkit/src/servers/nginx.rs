//! nginx serving a directory: byte ranges, ETags and an access log to count requests by.

use super::{find_binary, free_port, Server};
use std::path::{Path, PathBuf};
use std::process::Command;

/// nginx serving `root` (a directory) on a free port of 127.0.0.1; its configuration, logs,
/// pid and temp files under `state`. Found at `$HEXZ_NGINX`, `/usr/sbin/nginx` or `PATH`.
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

/// nginx serving a fresh temporary directory, with its state in another; the server is killed
/// and both directories removed when dropped.
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

#[cfg(test)]
mod tests {
    use super::TempNginx;
    use crate::servers::http_status;
    use std::net::TcpStream;

    /// nginx answers on 127.0.0.1, and dropping it kills the server and removes both of its
    /// directories.
    #[test]
    fn nginx_listens_on_loopback_and_is_gone_when_dropped() {
        let n = TempNginx::start();
        std::fs::write(n.root.path().join("a.txt"), b"hello").unwrap();
        assert!(n.url("a.txt").starts_with("http://127.0.0.1:"));
        assert_eq!(http_status(n.server.port, "GET", "/a.txt"), 200);
        assert_eq!(http_status(n.server.port, "GET", "/missing"), 404);
        assert_eq!(n.requests(), 2);
        let port = n.server.port;
        let dirs = [n.root.path().to_owned(), n.state.path().to_owned()];
        drop(n);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "still listening"
        );
        assert!(
            dirs.iter().all(|d| !d.exists()),
            "directories left: {dirs:?}"
        );
    }
}
