"""The servers of the remote-archive benchmark (``remote_bench.py``), each a child process on a
free 127.0.0.1 port: nginx (generated config, access log with ranges), ``hexz serve``,
moto_server (stock, or patched here to serve a ranged GET from just that range; run as
``remote_bench.py --moto PORT patched|stock``), the Rust S3 server s3s-fs (installed once with
``cargo install``) and ``hexz-faultproxy`` adding latency; ``Server`` wraps one, counts the
requests in its log and its CPU time, and stops it.
"""

# The nginx config keeps its long lines.
# ruff: noqa: E501

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

from machine import first_line
from remote_config import (
    AWS_ENV,
    FAULTPROXY,
    HEXZ,
    MOTO_SERVER,
    NGINX,
    S3S_FS,
    S3S_FS_VERSION,
    SCRIPT,
    TOOLS,
    log,
)

# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(
    port: int, proc: subprocess.Popen, name: str, log_path: Path, limit: float = 60
) -> None:
    deadline = time.monotonic() + limit
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}); its log:\n{tail(log_path)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{name} did not listen on 127.0.0.1:{port}; its log:\n{tail(log_path)}"
            )
        time.sleep(0.05)


def wait_line(
    path: Path, pattern: str, proc: subprocess.Popen, name: str, limit: float = 30
) -> re.Match:
    deadline = time.monotonic() + limit
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        m = re.search(pattern, text)
        if m:
            return m
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not print {pattern!r}; its output:\n{text[-2000:]}")
        time.sleep(0.05)


def tail(p: Path, n: int = 2000) -> str:
    try:
        return p.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class Server:
    """A server child process; ``stop`` ends it (and is safe to call twice)."""

    def __init__(
        self, name: str, proc: subprocess.Popen, port: int, log_path: Path, req_re: str
    ) -> None:
        self.name, self.proc, self.port, self.log, self.req_re = (
            name,
            proc,
            port,
            log_path,
            re.compile(req_re),
        )

    def requests(self) -> int:
        """Requests logged so far."""
        try:
            with open(self.log, "rb") as f:
                return sum(1 for line in f if self.req_re.search(line.decode("utf-8", "replace")))
        except OSError:
            return 0

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def cpu(self) -> float:
        return proc_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def spawn(
    cmd: list, log_path: Path, env: dict | None = None, stdout_path: Path | None = None
) -> subprocess.Popen:
    err = open(log_path, "ab")
    out = open(stdout_path, "ab") if stdout_path else err
    try:
        # A session of its own: Ctrl-C reaches this script, which stops the servers itself.
        return subprocess.Popen(
            [str(c) for c in cmd],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
    finally:
        err.close()
        if stdout_path:
            out.close()


NGINX_REQ = r'"(GET|HEAD) '


def start_nginx(root: Path, state: Path) -> Server:
    state.mkdir(parents=True, exist_ok=True)
    port = free_port()
    user = ""
    if os.geteuid() == 0:
        import grp
        import pwd

        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};"
    conf = f"""{user}
master_process off;
worker_processes 1;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$msec $connection $connection_requests "$request" $status $body_bytes_sent "$http_range" $request_time';
    access_log {state}/access.log bench;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {state}/body;
    proxy_temp_path {state}/proxy;
    fastcgi_temp_path {state}/fastcgi;
    uwsgi_temp_path {state}/uwsgi;
    scgi_temp_path {state}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
    (state / "nginx.conf").write_text(conf)
    logp = state / "nginx.out"
    proc = spawn(
        [
            NGINX,
            "-p",
            state,
            "-e",
            state / "error.log",
            "-c",
            state / "nginx.conf",
            "-g",
            "daemon off;",
        ],
        logp,
    )
    wait_port(port, proc, "nginx", logp)
    srv = Server("nginx", proc, port, state / "access.log", NGINX_REQ)
    srv.errlog = state / "error.log"
    return srv


def start_serve(archive: Path, state: Path) -> Server:
    state.mkdir(parents=True, exist_ok=True)
    out, err = state / "serve.out", state / "serve.log"
    proc = spawn([HEXZ, "serve", "--bind", "127.0.0.1:0", archive], err, stdout_path=out)
    m = wait_line(out, r"http://127\.0\.0\.1:(\d+)/", proc, "hexz serve")
    port = int(m.group(1))
    wait_port(port, proc, "hexz serve", err)
    return Server("hexz serve", proc, port, err, r'"(GET|HEAD) ')


def start_moto(state: Path, patched: bool) -> Server:
    state.mkdir(parents=True, exist_ok=True)
    port = free_port()
    py = MOTO_SERVER.parent / "python"
    logp = state / "moto.log"
    cmd = [
        py,
        SCRIPT,
        "--moto",
        str(port),
        "patched" if patched else "stock",
    ]
    env = {**os.environ, **AWS_ENV, "PYTHONUNBUFFERED": "1"}
    proc = spawn(cmd, logp, env=env)
    wait_port(port, proc, "moto_server", logp)
    return Server("moto", proc, port, logp, r"(GET|HEAD|PUT|POST|DELETE) /\S* HTTP/")


def start_s3s_fs(state: Path) -> Server:
    """The Rust S3 server s3s-fs over a directory of ``state``, with the bench's access keys
    (SigV4 checked); it keeps no request log (the proxy in front of it counts)."""
    root = state / "root"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    logp = state / "s3s-fs.log"
    cmd = [S3S_FS, "--host", "127.0.0.1", "--port", str(port)]
    cmd += [
        "--access-key",
        AWS_ENV["AWS_ACCESS_KEY_ID"],
        "--secret-key",
        AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        root,
    ]
    proc = spawn(cmd, logp, env={**os.environ, "RUST_LOG": "warn"})
    wait_port(port, proc, "s3s-fs", logp)
    return Server("s3s-fs", proc, port, logp, r"$^")


def s3_fs_version() -> str:
    return first_line([str(S3S_FS), "--version"])


def ensure_s3s_fs() -> None:
    """Installs s3s-fs into ~/.cache/hexz/tools once (``cargo install``, several CPU-minutes).
    0.14.1: later releases need a newer rustc than this workspace's toolchain."""
    if S3S_FS.exists():
        return
    log(f"installing s3s-fs {S3S_FS_VERSION} into {TOOLS} (cargo install, once; several minutes)")
    subprocess.run(
        [
            "cargo",
            "install",
            f"s3s-fs@{S3S_FS_VERSION}",
            "--features",
            "binary",
            "--locked",
            "--root",
            str(TOOLS),
        ],
        check=True,
    )


def start_proxy(upstream: int, latency_ms: int, state: Path, stats: bool = False) -> Server:
    """hexz-faultproxy adding ``latency_ms`` to every request; with ``stats``, it prints its
    counters (requests, bytes down) to its log each second."""
    state.mkdir(parents=True, exist_ok=True)
    out, err = state / "proxy.out", state / "proxy.log"
    cmd = [
        FAULTPROXY,
        "--upstream",
        f"127.0.0.1:{upstream}",
        "--latency-ms",
        str(latency_ms),
    ]
    proc = spawn([*cmd, *(["--stats-every", "1"] if stats else [])], err, stdout_path=out)
    m = wait_line(out, r"listening on 127\.0\.0\.1:(\d+)", proc, "hexz-faultproxy")
    port = int(m.group(1))
    wait_port(port, proc, "hexz-faultproxy", err)
    return Server(f"faultproxy {latency_ms} ms", proc, port, err, r"$^")


def moto_main(port: str, mode: str) -> None:
    """``--moto PORT patched|stock``: runs moto_server (in moto's venv), patched or not."""
    if mode == "patched":
        patch_moto()
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", port])


def patch_moto() -> None:
    """Serves a ranged GET by reading only the range from the key's buffer.

    Stock moto 5 builds every GET's response from ``FakeKey.value``, which reads the whole
    object from its buffer (a temporary file past 5 MiB) and copies it, then slices the range
    out: a 1 GB object costs ~0.5 s per request, whatever the range. Here, while a GET with a
    single ``Range`` runs, ``value`` is a view whose slice reads just those bytes. Everything
    else (signatures, ETags, If-Match, headers, 206/416) is stock moto.
    """
    from moto.s3 import models, responses

    tls = threading.local()

    class RangeView:
        def __init__(self, key) -> None:
            self.key = key

        def __len__(self) -> int:
            return self.key.size

        def __getitem__(self, s: slice) -> bytes:
            start, stop, _ = s.indices(self.key.size)
            with self.key.lock:
                self.key._value_buffer.seek(start)
                return self.key._value_buffer.read(max(0, stop - start))

    prop = models.FakeKey.value

    def value(self):
        if getattr(tls, "ranged", False):
            return RangeView(self)
        return prop.fget(self)

    models.FakeKey.value = property(value, prop.fset)
    get_object = responses.S3Response.get_object

    def ranged_get_object(self):
        rng = self.headers.get("range") or ""
        tls.ranged = rng.startswith("bytes=") and "," not in rng
        try:
            return get_object(self)
        finally:
            tls.ranged = False

    responses.S3Response.get_object = ranged_get_object
