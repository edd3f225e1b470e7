#!/usr/bin/env python3
"""Remote-archive benchmark: Hexz read over HTTP and S3, against curl, boto3, and MosaicML
Streaming / LitData fed through ``torch.utils.data.DataLoader`` (docs/benchmarks.md, "Remote
archives"; its goals are in that section's introduction).

Run by ``make bench-remote``; any Python >= 3.11 can start it. Like ``loader_bench.py`` it
re-runs itself in the benchmark venv (``~/.cache/hexz/bench-venv``: torch, mosaicml-streaming,
litdata, boto3, numpy), creating or updating it when needed, and imports hexz from
``crates/loader/python`` (build the native module first: ``make develop``).

Every server runs on a free 127.0.0.1 port, started here and stopped on the way out (also on
Ctrl-C or SIGTERM):

- nginx (``/usr/sbin/nginx``, generated config, ``master_process off``, ``sendfile on``, an
  access log with the Range, the bytes sent and the connection of each request);
- ``hexz serve`` (its stderr access log, one line per request);
- moto_server (``~/.cache/hexz/venv/bin/moto_server``'s Python, ``make venv``), started through
  this script (``--moto``). Stock moto 5 copies the whole object (twice) for every GET, ranged
  or not (``FakeKey.value``), so a ranged GET of a 1 GB object costs about half a second
  whatever its size; the main S3 rows use a moto patched here to read just the requested range
  from the object's buffer (everything else is stock moto). A second, stock moto gives the
  "stock moto" rows, for scale;
- ``hexz-faultproxy --latency-ms N`` in front of nginx (and one with 0 ms, as a control for the
  proxy's own cost).

Measured (each row a median of REMOTE_BENCH_RUNS runs; every case of a table runs once per
round, the rounds one after another, so peers are interleaved; one unrecorded warm-up round
first checks that every client gets every byte):

1. the whole archive to /dev/null: ``hexz cat URL`` (logical stream, decompression included)
   against ``curl -s URL -o /dev/null`` (the archive's bytes), over nginx and ``hexz serve``;
2. the same from S3 (moto): ``hexz cat s3://...`` against boto3 ``download_file`` (to
   /dev/shm) and ``download_fileobj`` into a sink that drops the bytes;
3. time to the first 4 KiB, cold: a fresh ``hexz cat --length 4K`` process, and a fresh
   ``hexz.open(url)`` + ``read_at(0, 4096)`` in a warm Python process; requests counted in
   the server's log;
4. item 1 through ``hexz-faultproxy --latency-ms 20`` (REMOTE_BENCH_LATENCY_MS);
5. DataLoader epochs from S3 with latency (for "Training loader vs LitData"): the Rust S3 server ``s3s-fs`` (installed
   once into ``~/.cache/hexz/tools`` with ``cargo install s3s-fs --features binary``; SigV4 keys
   checked) behind ``hexz-faultproxy --latency-ms 20 --stats-every 1``, whose counters give the
   requests and the bytes each epoch fetched. Over loader_bench.py's data set (same generator,
   builders, sample count and sizes; samples carry their index, so the order yielded is
   checked and its shuffle quality measured): ``hexz.Dataset("s3://...")`` with
   ``sampler=ds.sampler(shuffle="block")``, without and with ``cache_dir=`` (``-cache`` rows),
   against MDS ``StreamingDataset(remote=..., local=tmp)`` and ``litdata.StreamingDataset``
   (own ``shuffle=True``, own local cache); two epochs each, in a fresh process: samples/s,
   first batch, requests, bytes fetched / bytes of samples, CPU-s, peak PSS, local disk.
   moto stays for items 2-4 (and the conformance tests); speed numbers of item 5 use s3s-fs.

Results: ``benchmarks/runs/<date>-remote/results.json`` (command, machine, versions) and
``bench-out/remote.md``; with ``--record`` the "Training loader vs LitData" section of
docs/benchmarks.md is regenerated from the newest runs (``issue11_report.py``).

The archive for items 1-4 (~1 GB, LZ4) packs ``~/.cache/hexz/bench/ext4.img`` and
``~/.cache/hexz/bench/tree`` (made by ``make bench``) as one directory; with REMOTE_BENCH_MB=N
it is a raw pack of the first ~2.9 N MiB of the image instead (about N MB), for a quick run.

Environment:
    REMOTE_BENCH_MB         archive size in MB for a quick run (default: the full ~1 GB one)
    REMOTE_BENCH_RUNS       timed rounds (default 5)
    REMOTE_BENCH_TTFB_RUNS  rounds of the first-4-KiB cases (default 10)
    REMOTE_BENCH_LATENCY_MS latency the fault proxy adds (default 20)
    REMOTE_BENCH_ITEMS      subset of read,ttfb,stock,loader (default: all)
    REMOTE_BENCH_SAMPLES    DataLoader data set: samples (default 200000, loader_bench's)
    REMOTE_BENCH_WORKERS    DataLoader num_workers values (default "0,2")
    REMOTE_BENCH_ORDERS     DataLoader orders (default "shuffle"; "seq,shuffle" adds sequential)
    REMOTE_BENCH_EPOCH_S    stop an epoch after this many seconds (default 60)
    REMOTE_BENCH_HEXZ_VARIANTS  Hexz shuffled rows from S3 (default "block,block-cache"; also
                            "global", "dataloader"; "-cache" adds cache_dir=)
    REMOTE_BENCH_FORMATS    DataLoader formats (default: hexz-lz4, hexz-zstd, hexz-raw,
                            webdataset, files, mds, litdata)
    REMOTE_BENCH_DIR        archive and state (default ~/.cache/hexz/remote-bench)
    REMOTE_BENCH_OUT        report directory (default bench-out/)
    HEXZ, HEXZ_FAULTPROXY, HEXZ_NGINX, HEXZ_MOTO_SERVER, HEXZ_S3S_FS   the programs

``--record`` appends the run to docs/benchmarks.md under ``DOC_HEADING``, "Remote archives" (also
REMOTE_BENCH_RECORD=1); ``--record-last`` appends the last report (bench-out/remote.md) without
running anything.
"""

# The report's Markdown sentences and the nginx config keep their long lines.
# ruff: noqa: E501

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HEXZ_CACHE", Path.home() / ".cache" / "hexz"))
VENV = Path(os.environ.get("LOADER_BENCH_VENV", CACHE / "bench-venv"))
REQS = ROOT / "benchmarks" / "requirements-peers.txt"
# Where `import hexz` comes from (HEXZ_PYTHON_PATH: another checkout or a built copy).
HEXZ_PY = Path(
    os.environ.get("HEXZ_PYTHON_PATH", ROOT / "crates" / "loader" / "python")
)
for p in (str(HEXZ_PY), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

import measure  # noqa: E402
import runs  # noqa: E402
from machine import first_line, machine  # noqa: E402

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
HEXZ = Path(os.environ.get("HEXZ", TARGET / "release" / "hexz"))
FAULTPROXY = Path(
    os.environ.get("HEXZ_FAULTPROXY", TARGET / "release" / "hexz-faultproxy")
)
NGINX = Path(os.environ.get("HEXZ_NGINX", "/usr/sbin/nginx"))
MOTO_SERVER = Path(
    os.environ.get("HEXZ_MOTO_SERVER", CACHE / "venv" / "bin" / "moto_server")
)
TOOLS = CACHE / "tools"
S3S_FS_VERSION = "0.14.1"
S3S_FS = Path(os.environ.get("HEXZ_S3S_FS", TOOLS / "bin" / "s3s-fs"))

MB = int(os.environ.get("REMOTE_BENCH_MB", "0") or 0)
RUNS = int(os.environ.get("REMOTE_BENCH_RUNS", "5"))
TTFB_RUNS = int(os.environ.get("REMOTE_BENCH_TTFB_RUNS", "10"))
LATENCY_MS = int(os.environ.get("REMOTE_BENCH_LATENCY_MS", "20"))
ALL_ITEMS = ["read", "ttfb", "stock", "loader"]
ITEMS = [
    i.strip()
    for i in os.environ.get("REMOTE_BENCH_ITEMS", ",".join(ALL_ITEMS)).split(",")
    if i.strip()
]
SAMPLES = int(os.environ.get("REMOTE_BENCH_SAMPLES", "200000"))
WORKERS = [
    int(w)
    for w in os.environ.get("REMOTE_BENCH_WORKERS", "0,2").split(",")
    if w.strip()
]
ORDERS = [
    o.strip()
    for o in os.environ.get("REMOTE_BENCH_ORDERS", "shuffle").split(",")
    if o.strip()
]
EPOCH_S = float(os.environ.get("REMOTE_BENCH_EPOCH_S", "60"))
HEXZ_S3_VARIANTS = [
    v.strip()
    for v in os.environ.get("REMOTE_BENCH_HEXZ_VARIANTS", "block,block-cache").split(
        ","
    )
    if v.strip()
]
DATA = Path(os.environ.get("REMOTE_BENCH_DIR", CACHE / "remote-bench"))
OUT = Path(os.environ.get("REMOTE_BENCH_OUT", ROOT / "bench-out"))
BENCH_DATA = CACHE / "bench"
BUCKET = "bench"
BATCH = 64
DOC_HEADING = "## Remote archives (issue #4)"
ENV_VARS = [
    "REMOTE_BENCH_MB",
    "REMOTE_BENCH_RUNS",
    "REMOTE_BENCH_ITEMS",
    "REMOTE_BENCH_SAMPLES",
    "REMOTE_BENCH_WORKERS",
    "REMOTE_BENCH_ORDERS",
    "REMOTE_BENCH_EPOCH_S",
    "REMOTE_BENCH_LATENCY_MS",
    "REMOTE_BENCH_HEXZ_VARIANTS",
    "REMOTE_BENCH_FORMATS",
    "HEXZ_PYTHON_PATH",
]
# Credentials for moto (it accepts any); the AWS config files of the machine are kept out.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "hexzbench",
    "AWS_SECRET_ACCESS_KEY": "hexzbench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/hexz-bench-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/hexz-bench-aws-credentials",
}


def log(msg: str) -> None:
    print(f"remote-bench: {msg}", file=sys.stderr, flush=True)


# --- the venv ------------------------------------------------------------------------------


def ensure_venv() -> None:
    """Re-executes this script in the benchmark venv (loader_bench.py's, same stamp), creating
    or updating it when needed."""
    vpy = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    want = f"{sys.version.split()[0]} {hashlib.sha256(REQS.read_bytes()).hexdigest()}"
    stamp = VENV / ".hexz-bench-stamp"
    if not (vpy.exists() and stamp.exists() and stamp.read_text().strip() == want):
        if not vpy.exists():
            log(f"creating {VENV} with {sys.executable}")
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        log(
            f"installing {REQS.name} into {VENV} (torch, mosaicml-streaming, litdata, boto3)"
        )
        pip = [
            str(vpy),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, stdin=subprocess.DEVNULL)
        subprocess.run([*pip, "-r", str(REQS)], check=True, stdin=subprocess.DEVNULL)
        stamp.write_text(want + "\n")
    os.execv(str(vpy), [str(vpy), str(Path(__file__).resolve()), *sys.argv[1:]])


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
            raise RuntimeError(
                f"{name} exited ({proc.returncode}); its log:\n{tail(log_path)}"
            )
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
            raise RuntimeError(
                f"{name} did not print {pattern!r}; its output:\n{text[-2000:]}"
            )
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
                return sum(
                    1
                    for line in f
                    if self.req_re.search(line.decode("utf-8", "replace"))
                )
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
    proc = spawn(
        [HEXZ, "serve", "--bind", "127.0.0.1:0", archive], err, stdout_path=out
    )
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
        Path(__file__).resolve(),
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
    log(
        f"installing s3s-fs {S3S_FS_VERSION} into {TOOLS} (cargo install, once; several minutes)"
    )
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


def start_proxy(
    upstream: int, latency_ms: int, state: Path, stats: bool = False
) -> Server:
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
    proc = spawn(
        [*cmd, *(["--stats-every", "1"] if stats else [])], err, stdout_path=out
    )
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


# --- data ----------------------------------------------------------------------------------


def hexz_run(args: list, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(HEXZ), *map(str, args)], check=True, **kw)


def make_archive() -> tuple[Path, dict]:
    """The ~1 GB LZ4 archive (cached), and what it holds."""
    DATA.mkdir(parents=True, exist_ok=True)
    img, tree = BENCH_DATA / "ext4.img", BENCH_DATA / "tree"
    if not img.exists() or (not MB and not tree.is_dir()):
        raise SystemExit(
            f"remote-bench: {img} and {tree} are missing: run `make bench` once (it builds them), "
            "or `benchmarks/pack_read.sh`"
        )
    if MB:
        raw = DATA / f"image-{MB}mb.raw"
        arch = DATA / f"image-{MB}mb.hxz"
        want = int(MB * 2.9 * 2**20)
        key = f"raw prefix {want} of {img} ({img.stat().st_size} bytes, mtime {img.stat().st_mtime_ns})"
        src_desc = f"the first {want / 2**20:,.0f} MiB of the ext4 image (`--raw`)"
    else:
        src = DATA / "src"
        arch = DATA / "x.hxz"
        key = f"dir {img} ({img.stat().st_size}, {img.stat().st_mtime_ns}) + {tree} ({(BENCH_DATA / 'tree.stamp').read_text().strip() if (BENCH_DATA / 'tree.stamp').exists() else '?'})"
        src_desc = (
            "a directory holding the ext4 image of `make bench` and the file tree it was made from"
            " (hard links to `~/.cache/hexz/bench/ext4.img` and `~/.cache/hexz/bench/tree`)"
        )
    stamp = arch.with_suffix(".stamp")
    if not (arch.exists() and stamp.exists() and stamp.read_text() == key):
        log(f"packing {arch} (LZ4) from {src_desc}")
        if MB:
            with open(img, "rb") as fi, open(raw, "wb") as fo:
                left = want
                while left:
                    b = fi.read(min(left, 8 << 20))
                    if not b:
                        break
                    fo.write(b)
                    left -= len(b)
            hexz_run(["pack", "-q", "--raw", raw, arch])
            raw.unlink()
        else:
            if src.exists():
                shutil.rmtree(src)
            src.mkdir()
            os.link(img, src / "ext4.img")
            subprocess.run(["cp", "-al", str(tree), str(src / "tree")], check=True)
            hexz_run(["pack", "-q", src, arch])
        stamp.write_text(key)
    info = hexz_run(["inspect", arch], capture_output=True, text=True).stdout
    logical = int(re.search(r"logical size .*\((\d+) bytes\)", info).group(1))
    meta = {
        "path": str(arch),
        "bytes": arch.stat().st_size,
        "logical": logical,
        "source": src_desc,
        "inspect": info,
    }
    for k in ("blocks", "codecs"):
        m = re.search(rf"^{k}\s+(.*)$", info, re.M)
        if m:
            meta[k] = m.group(1).strip()
    return arch, meta


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def upload(endpoint: str, local: Path, key: str, single_put: bool = False) -> None:
    """Uploads a file, or every file under a directory (keys KEY/relative/path); with
    ``single_put``, one PUT per file (no multipart upload), up to 5 GB."""
    from boto3.s3.transfer import TransferConfig

    conf = TransferConfig(multipart_threshold=5 << 30) if single_put else None
    s3 = s3_client(endpoint)
    with contextlib.suppress(Exception):
        s3.create_bucket(Bucket=BUCKET)
    files = (
        [(local, key)]
        if local.is_file()
        else [
            (f, f"{key}/{f.relative_to(local).as_posix()}")
            for f in sorted(local.rglob("*"))
            if f.is_file()
        ]
    )
    for f, k in files:
        s3.upload_file(str(f), BUCKET, k, Config=conf)


# --- timed runs ----------------------------------------------------------------------------


def run_timed(cmd: list, env: dict | None = None, stdout=subprocess.DEVNULL) -> dict:
    """Runs ``cmd``; wall time and the child's own CPU time (wait4)."""
    errf = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [str(c) for c in cmd],
        stdout=stdout,
        stderr=errf,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} exited {p.returncode}: {err[-1500:]}")
    return {"s": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss * 1024}


def count_stdout(cmd: list, env: dict | None = None) -> int:
    """Bytes ``cmd`` writes to stdout (to check a client got everything)."""
    p = subprocess.Popen(
        [str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    n = 0
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        n += len(b)
    err = p.stderr.read().decode(errors="replace")
    if p.wait() != 0:
        raise RuntimeError(f"{cmd} exited {p.returncode}: {err[-1500:]}")
    return n


def run_stage(kind: str, cfg: dict, timeout: float | None = None) -> dict:
    """Runs one Python stage (boto3 download, Python open, DataLoader epochs) in a fresh
    process of this venv; returns its RESULT."""
    env = {**os.environ, **AWS_ENV}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HEXZ_PY), str(ROOT / "benchmarks"), env.get("PYTHONPATH")])
    )
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--stage",
        kind,
        json.dumps(cfg),
    ]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\ntimed out after {timeout:.0f} s (killed)"
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        msg = (err.strip().splitlines() or ["(no output)"])[-1]
        sys.stderr.write(err[-3000:])
        raise RuntimeError(f"stage {kind} failed (exit {proc.returncode}): {msg}")
    return json.loads(lines[-1][len("RESULT ") :])


class NullSink:
    def write(self, b) -> int:
        return len(b)


def stage_boto3(cfg: dict) -> dict:
    import resource

    import boto3  # noqa: F401  (imported before the clock starts)

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    s3 = s3_client(cfg["endpoint"])
    if cfg["mode"] == "file":
        s3.download_file(BUCKET, cfg["key"], cfg["dest"])
        n = os.path.getsize(cfg["dest"])
    else:
        sink = NullSink()
        counted = [0]

        def cb(k: int) -> None:
            counted[0] += k

        s3.download_fileobj(BUCKET, cfg["key"], sink, Callback=cb)
        n = counted[0]
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    if cfg["mode"] == "file":
        os.unlink(cfg["dest"])
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"s": dt, "cpu": cpu, "bytes": n, "rss": r1.ru_maxrss * 1024}


def stage_py_open(cfg: dict) -> dict:
    """Fresh ``hexz.open(url)`` + ``read_at(0, 4096)``, ``n`` times; requests counted in the
    server's log between opens."""
    import hexz

    req_re = re.compile(cfg["req_re"])

    def count() -> int:
        with open(cfg["log"], "rb") as f:
            return sum(1 for ln in f if req_re.search(ln.decode("utf-8", "replace")))

    kw = {"endpoint": cfg["endpoint"]} if cfg.get("endpoint") else {}
    out = []
    for _ in range(cfg["n"]):
        before = count()
        t0 = time.perf_counter()
        r = hexz.open(cfg["url"], **kw)
        b = r.read_at(0, 4096)
        dt = time.perf_counter() - t0
        assert len(b) == 4096
        r.close() if hasattr(r, "close") else None
        del r
        time.sleep(0.1)
        out.append({"s": dt, "requests": count() - before})
    return {"runs": out}


# --- items 1, 2, 4: whole archive --------------------------------------------------------


def median(xs: list) -> float:
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def bench_reads(arch: Path, meta: dict, srv: dict, tmp: Path) -> dict:
    env = {**os.environ, **AWS_ENV}
    name = arch.name
    ng, sv, mo, p20, p0 = (
        srv["nginx"],
        srv["serve"],
        srv["moto"],
        srv["proxy"],
        srv["proxy0"],
    )
    url = {
        k: f"http://127.0.0.1:{s.port}/{name}"
        for k, s in (("nginx", ng), ("serve", sv), ("proxy", p20), ("proxy0", p0))
    }
    s3url = f"s3://{BUCKET}/{name}"
    endpoint = f"http://127.0.0.1:{mo.port}"
    dest = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp
    cases = [
        # (id, server, client, peer-of, command or stage)
        ("local-hexz", "none (local file)", "hexz cat FILE", None, [HEXZ, "cat", arch]),
        (
            "nginx-curl",
            "nginx",
            "curl",
            None,
            ["curl", "-s", url["nginx"], "-o", "/dev/null"],
        ),
        ("nginx-hexz", "nginx", "hexz cat", "nginx-curl", [HEXZ, "cat", url["nginx"]]),
        (
            "serve-curl",
            "hexz serve",
            "curl",
            None,
            ["curl", "-s", url["serve"], "-o", "/dev/null"],
        ),
        (
            "serve-hexz",
            "hexz serve",
            "hexz cat",
            "serve-curl",
            [HEXZ, "cat", url["serve"]],
        ),
        (
            "moto-boto3",
            "moto (S3)",
            "boto3 download_file (to /dev/shm)",
            None,
            {"mode": "file"},
        ),
        (
            "moto-boto3-null",
            "moto (S3)",
            "boto3 download_fileobj (bytes dropped)",
            None,
            {"mode": "null"},
        ),
        (
            "moto-hexz",
            "moto (S3)",
            "hexz cat",
            "moto-boto3",
            [HEXZ, "cat", "--endpoint-url", endpoint, s3url],
        ),
        (
            "proxy-hexz",
            f"nginx + {LATENCY_MS} ms proxy",
            "hexz cat",
            None,
            [HEXZ, "cat", url["proxy"]],
        ),
        (
            "proxy-curl",
            f"nginx + {LATENCY_MS} ms proxy",
            "curl",
            None,
            ["curl", "-s", url["proxy"], "-o", "/dev/null"],
        ),
        (
            "proxy0-hexz",
            "nginx + 0 ms proxy",
            "hexz cat",
            None,
            [HEXZ, "cat", url["proxy0"]],
        ),
        (
            "proxy0-curl",
            "nginx + 0 ms proxy",
            "curl",
            None,
            ["curl", "-s", url["proxy0"], "-o", "/dev/null"],
        ),
    ]
    server_of = {"nginx": ng, "hexz serve": sv, "moto (S3)": mo}

    def one(case, check: bool) -> dict:
        cid, server, client, _, how = case
        s = server_of.get(server) or (ng if server.startswith("nginx +") else None)
        req0 = s.requests() if s else 0
        cpu0 = {k: v.cpu() for k, v in srv.items()}
        if isinstance(how, dict):
            r = run_stage(
                "boto3",
                {
                    **how,
                    "endpoint": endpoint,
                    "key": name,
                    "dest": str(dest / f"hexz-bench-{os.getpid()}.dl"),
                },
            )
            if check and r["bytes"] != meta["bytes"]:
                raise RuntimeError(
                    f"{cid}: got {r['bytes']} bytes, want {meta['bytes']}"
                )
        elif check:
            want = meta["logical"] if "hexz" in cid else meta["bytes"]
            n = count_stdout([*how[:-2], "-o", "-"] if "curl" in cid else how, env=env)
            if n != want:
                raise RuntimeError(f"{cid}: got {n} bytes, want {want}")
            r = {"s": float("nan"), "cpu": float("nan")}
        else:
            r = run_timed(how, env=env)
        time.sleep(0.05)  # let the servers write their log lines
        r["requests"] = (s.requests() - req0) if s else 0
        r["server_cpu"] = {k: v.cpu() - cpu0[k] for k, v in srv.items()}
        return r

    log("warm-up round (checks every client's byte count)")
    for case in cases:
        one(case, check=True)
    # One nginx-logged hexz read, for the request analysis.
    ng_lines0 = len(ng.log_lines())
    runs = {c[0]: [] for c in cases}
    for rnd in range(RUNS):
        for case in cases:
            if case[0] == "nginx-hexz" and rnd == 0:
                ng_lines0 = len(ng.log_lines())
            r = one(case, check=False)
            if case[0] == "nginx-hexz" and rnd == 0:
                ng_run = ng.log_lines()[ng_lines0:]
            runs[case[0]].append(r)
        log(
            f"round {rnd + 1}/{RUNS}: "
            + ", ".join(f"{c[0]} {runs[c[0]][-1]['s']:.2f} s" for c in cases)
            + f" (load {os.getloadavg()[0]:.1f})"
        )
    rows = []
    for cid, server, client, peer, _ in cases:
        rs = runs[cid]
        ts = [r["s"] for r in rs]
        rows.append(
            {
                "id": cid,
                "server": server,
                "client": client,
                "peer": peer,
                "times": ts,
                "median_s": median(ts),
                "cpu_s": median([r["cpu"] for r in rs]),
                "requests": median([r["requests"] for r in rs]),
                "server_cpu_s": {
                    k: median([r["server_cpu"][k] for r in rs]) for k in srv
                },
            }
        )
    return {"rows": rows, "nginx_log": analyse_nginx(ng_run, meta["bytes"])}


def analyse_nginx(lines: list, object_bytes: int) -> dict:
    """Requests, bytes, connections and re-fetched bytes of one hexz read, from nginx's log."""
    pat = re.compile(
        r'(\S+) (\d+) (\d+) "(\S+) (\S+) [^"]*" (\d+) (\d+) "([^"]*)" (\S+)'
    )
    reqs = []
    for ln in lines:
        m = pat.match(ln)
        if not m:
            continue
        _, conn, _, _, _, status, sent, rng, _ = m.groups()
        a = b = None
        mm = re.match(r"bytes=(\d*)-(\d*)$", rng)
        if mm and mm.group(1):
            a, b = int(mm.group(1)), int(mm.group(2)) + 1
        elif mm:
            a, b = object_bytes - int(mm.group(2)), object_bytes
        reqs.append(
            {
                "conn": int(conn),
                "status": int(status),
                "bytes": int(sent),
                "range": (a, b),
            }
        )
    ivs = sorted(r["range"] for r in reqs if r["range"][0] is not None)
    unique = 0
    end = 0
    for a, b in ivs:
        if b > end:
            unique += b - max(a, end)
            end = b
    # Bytes fetched again within 60 requests of their first fetch (overlap between nearby
    # requests, i.e. not explained by a cache that is too small).
    near = 0
    order = [r["range"] for r in reqs if r["range"][0] is not None]
    for j, (a, b) in enumerate(order):
        for x, y in order[max(0, j - 60) : j]:
            near += max(0, min(b, y) - max(a, x))
    sizes = sorted(r["bytes"] for r in reqs)
    return {
        "requests": len(reqs),
        "bytes": sum(r["bytes"] for r in reqs),
        "unique_bytes": unique,
        "near_refetch_bytes": near,
        "connections": len({r["conn"] for r in reqs}),
        "median_request": sizes[len(sizes) // 2] if sizes else 0,
        "max_request": sizes[-1] if sizes else 0,
        "statuses": sorted({r["status"] for r in reqs}),
    }


# --- item 3: first 4 KiB -------------------------------------------------------------------


def bench_ttfb(arch: Path, srv: dict, stock: Server | None) -> list:
    env = {**os.environ, **AWS_ENV}
    name = arch.name
    targets = [
        (
            "nginx",
            srv["nginx"],
            f"http://127.0.0.1:{srv['nginx'].port}/{name}",
            None,
            srv["nginx"],
        ),
        (
            "hexz serve",
            srv["serve"],
            f"http://127.0.0.1:{srv['serve'].port}/{name}",
            None,
            srv["serve"],
        ),
        (
            "moto (S3)",
            srv["moto"],
            f"s3://{BUCKET}/{name}",
            f"http://127.0.0.1:{srv['moto'].port}",
            srv["moto"],
        ),
        (
            f"nginx + {LATENCY_MS} ms proxy",
            srv["proxy"],
            f"http://127.0.0.1:{srv['proxy'].port}/{name}",
            None,
            srv["nginx"],
        ),
    ]
    if stock is not None:
        targets.append(
            (
                "stock moto (S3)",
                stock,
                f"s3://{BUCKET}/{name}",
                f"http://127.0.0.1:{stock.port}",
                stock,
            )
        )
    rows = []
    for label, _srv, url, endpoint, logsrv in targets:
        n = TTFB_RUNS if not label.startswith("stock") else min(TTFB_RUNS, 3)
        cli = [
            HEXZ,
            "cat",
            "--length",
            "4K",
            *(["--endpoint-url", endpoint] if endpoint else []),
            url,
        ]
        plain = url if not endpoint else f"{endpoint}/{BUCKET}/{name}"
        curl = ["curl", "-s", "-r", "0-4095", plain, "-o", "/dev/null"]
        res = {"cli": [], "curl": []}
        for _ in range(n):
            for kind, cmd in (("cli", cli), ("curl", curl)):
                before = logsrv.requests()
                r = run_timed(cmd, env=env)
                time.sleep(0.1)
                r["requests"] = logsrv.requests() - before
                res[kind].append(r)
        py = run_stage(
            "py_open",
            {
                "url": url,
                "endpoint": endpoint,
                "n": n,
                "log": str(logsrv.log),
                "req_re": logsrv.req_re.pattern,
            },
            timeout=600,
        )["runs"]
        for kind, rs, client in (
            ("cli", res["cli"], "`hexz cat --length 4K` (fresh process)"),
            (
                "py",
                py,
                "`hexz.open(url)` + `read_at(0, 4096)` (fresh open, warm interpreter)",
            ),
            ("curl", res["curl"], "`curl -r 0-4095` (fresh process; reference)"),
        ):
            rows.append(
                {
                    "server": label,
                    "client": client,
                    "kind": kind,
                    "runs": len(rs),
                    "median_ms": median([r["s"] for r in rs]) * 1e3,
                    "min_ms": min(r["s"] for r in rs) * 1e3,
                    "max_ms": max(r["s"] for r in rs) * 1e3,
                    "requests": median([r["requests"] for r in rs]),
                }
            )
        log(
            f"first 4 KiB via {label}: "
            + ", ".join(
                f"{r['kind']} {r['median_ms']:.1f} ms / {r['requests']:.0f} req"
                for r in rows[-3:]
            )
        )
    return rows


def bench_stock(arch: Path, stock: Server) -> dict:
    """One boto3 download_file from stock moto (no range patch), for scale."""
    dest = Path("/dev/shm") if Path("/dev/shm").is_dir() else DATA
    endpoint = f"http://127.0.0.1:{stock.port}"
    before = stock.requests()
    r = run_stage(
        "boto3",
        {
            "mode": "file",
            "endpoint": endpoint,
            "key": arch.name,
            "dest": str(dest / f"hexz-bench-{os.getpid()}.stock"),
        },
        timeout=1800,
    )
    time.sleep(0.1)
    r["requests"] = stock.requests() - before
    log(f"stock moto: boto3 download_file {r['s']:.1f} s ({r['requests']} requests)")
    return r


# --- item 5: DataLoader from S3 (s3s-fs behind the latency proxy) ----------------------------


def loader_module():
    os.environ["LOADER_BENCH_SAMPLES"] = str(SAMPLES)
    import loader_bench

    return loader_bench


# The local benchmark's formats, in S3: Hexz (LZ4, Zstd, and the incompressible variant),
# WebDataset shards, one object per sample (plain files), MDS and LitData.
S3_KEYS = {
    "hexz-lz4": "loader/hexz-lz4.hxz",
    "hexz-zstd": "loader/hexz-zstd.hxz",
    "hexz-raw": "loader/hexz-raw.hxz",
    "webdataset": "wds",
    "files": "files",
    "mds": "mds",
    "litdata": "litdata",
}
S3_FORMATS = tuple(
    f.strip()
    for f in os.environ.get("REMOTE_BENCH_FORMATS", ",".join(S3_KEYS)).split(",")
    if f.strip()
)


def loader_data(endpoint: str, s3_root: Path) -> dict:
    """Builds (or reuses) loader_bench's data set in every S3 format and puts it in the S3
    server: one PUT per file (so s3s-fs stores each object's ETag), except the 200,000 plain
    files, which are hard-linked into s3s-fs's directory (its objects are files there; one PUT
    each would take longer than the benchmark, and a GET of one needs no stored ETag)."""
    lb = loader_module()
    lb.make_data()
    lb.FORMATS = list(S3_FORMATS)
    lb.build_all(lb.versions())
    keys = {fmt: S3_KEYS[fmt] for fmt in S3_FORMATS}
    sizes = {}
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    for fmt, key in keys.items():
        t0 = time.perf_counter()
        if fmt == "files":
            subprocess.run(
                ["cp", "-al", str(lb.fmt_path(fmt)), str(s3_root / BUCKET / key)],
                check=True,
            )
        else:
            upload(endpoint, lb.fmt_path(fmt), key, single_put=True)
        sizes[fmt] = lb.disk_bytes(lb.fmt_path(fmt))
        log(
            f"put {fmt} ({sizes[fmt] / 2**20:,.0f} MiB) in s3://{BUCKET}/{key}"
            f" in {time.perf_counter() - t0:.1f} s"
        )
    return {
        "keys": keys,
        "sizes": sizes,
        "payload": lb.total_bytes(),
        "dir": str(lb.data_dir()),
    }


class S3FilesDataset:
    """One S3 object per sample, one GET each (a boto3 client per process): plain files in a
    bucket, read the way a map-style dataset over them reads."""

    def __init__(self, endpoint: str, prefix: str, n: int) -> None:
        self.endpoint, self.prefix, self.n = endpoint, prefix, n
        self._client = None
        self._pid = None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> bytes:
        if self._client is None or self._pid != os.getpid():
            self._client, self._pid = s3_client(self.endpoint), os.getpid()
        key = f"{self.prefix}/{i // 1000:04d}/{i:08d}.bin"
        return self._client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_client": None, "_pid": None}


def wds_s3_urls(endpoint: str, prefix: str, local: Path) -> list[str]:
    """WebDataset's usual way to read shards from S3, a pipe per shard (here curl, signing
    with SigV4 as ``aws s3 cp`` would)."""
    user = f"{AWS_ENV['AWS_ACCESS_KEY_ID']}:{AWS_ENV['AWS_SECRET_ACCESS_KEY']}"
    return [
        f"pipe:curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 --user {user}"
        f" {endpoint}/{BUCKET}/{prefix}/{shard.name}"
        for shard in sorted(local.glob("shard-*.tar"))
    ]


def du(p: Path) -> int:
    return (
        sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0
    )


def proxy_counters(log_path: str) -> dict:
    """The newest ``Stats { requests: .., bytes_down: .. }`` line of ``hexz-faultproxy
    --stats-every 1`` (printed each second: call after a pause of more than a second)."""
    text = Path(log_path).read_text(errors="replace")
    found = re.findall(r"Stats \{([^}]*)\}", text)
    if not found:
        return {"requests": 0, "bytes_down": 0}
    return {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", found[-1])}


def s3_loader(cfg: dict, local: Path):
    """``(DataLoader, Hexz Dataset or None)`` of one configuration reading from S3."""
    lb = loader_module()
    fmt, workers, variant = cfg["fmt"], cfg["workers"], cfg["variant"]
    endpoint, url = cfg["endpoint"], f"s3://{BUCKET}/{cfg['key']}"
    shuffle = cfg["order"] == "shuffle"
    kw = dict(
        batch_size=BATCH, num_workers=workers, collate_fn=lb.peer_collate(workers)
    )
    if lb.is_hexz(fmt):
        open_kw = {"endpoint": endpoint}
        if variant.endswith("-cache"):
            open_kw["cache_dir"] = str(local)
        return lb.hexz_loader(url, workers, variant.removesuffix("-cache"), **open_kw)
    if fmt == "mds":
        import torch.utils.data as tud

        os.environ["S3_ENDPOINT_URL"] = endpoint
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        clean_stale_shared_memory()
        ds = StreamingDataset(
            remote=url,
            local=str(local),
            shuffle=shuffle,
            batch_size=BATCH,
            shuffle_seed=0,
        )
        return tud.DataLoader(ds, **kw), None
    if fmt == "files":
        import torch.utils.data as tud

        return tud.DataLoader(
            S3FilesDataset(endpoint, cfg["key"], SAMPLES), shuffle=shuffle, **kw
        ), None
    if fmt == "webdataset":
        import torch.utils.data as tud
        import webdataset as wds

        urls = wds_s3_urls(endpoint, cfg["key"], lb.fmt_path(fmt))
        ds = wds.WebDataset(
            urls,
            shardshuffle=len(urls) if shuffle else False,
            empty_check=False,
            seed=0,
        )
        if shuffle:
            ds = ds.shuffle(1000)
        return tud.DataLoader(ds.map(lb._wds_bin), **kw), None
    if fmt == "litdata":
        import litdata
        from litdata.streaming import downloader

        # LitData fetches chunks with obstore, whose client refuses plain http:// unless told;
        # its boto3 client (index.json) takes the endpoint from storage_options.
        downloader._OBSTORE_CLIENT_OPTIONS = {
            **downloader._OBSTORE_CLIENT_OPTIONS,
            "allow_http": True,
        }
        ds = litdata.StreamingDataset(
            url,
            cache_dir=str(local),
            storage_options={"endpoint_url": endpoint},
            shuffle=shuffle,
            seed=0,
        )
        return litdata.StreamingDataLoader(ds, **kw), None
    raise ValueError(fmt)


def stage_loader(cfg: dict) -> dict:
    """Two epochs of one DataLoader configuration from S3, in this fresh process."""
    import importlib

    lb = loader_module()
    importlib.import_module(lb.peer_module(cfg["fmt"]))
    import torch.utils.data  # noqa: F401  (imports are not timed)

    local = Path(tempfile.mkdtemp(prefix=f"hexz-remote-{cfg['fmt']}-", dir=cfg["tmp"]))
    time.sleep(1.2)
    c0 = proxy_counters(cfg["proxy_log"])
    mon = measure.TreeMonitor().start()
    t_open = time.perf_counter()
    try:
        loader, _ds = s3_loader(cfg, local)
    except lb.Skip as e:
        mon.stop()
        return {**cfg, "skipped": str(e)}
    open_s = time.perf_counter() - t_open
    epochs = []
    for k in (1, 2):
        if k == 2:
            mon = measure.TreeMonitor().start()
        ep = lb.epoch(loader, EPOCH_S)
        usage = mon.stop()
        time.sleep(1.2)  # the proxy prints its counters each second
        c1 = proxy_counters(cfg["proxy_log"])
        fetched = c1["bytes_down"] - c0["bytes_down"]
        dt = ep["seconds"]
        epochs.append(
            {
                "epoch": k,
                **{key: v for key, v in ep.items() if key != "order"},
                **lb.order_summary(ep["order"], SAMPLES, ep["capped"]),
                **usage,
                "first_batch_total_s": (open_s if k == 1 else 0.0)
                + (ep["first_batch_s"] or dt),
                "samples_s": ep["samples"] / dt if dt else 0.0,
                "mb_s": ep["bytes"] / dt / 1e6 if dt else 0.0,
                "requests": c1["requests"] - c0["requests"],
                "fetched_bytes": fetched,
                "fetched_ratio": fetched / ep["bytes"] if ep["bytes"] else None,
                "local_bytes": du(local),
            }
        )
        c0 = c1
    del loader
    shutil.rmtree(local, ignore_errors=True)
    return {**cfg, "open_s": open_s, "epochs": epochs}


def s3_configs() -> list[tuple]:
    """(fmt, order, variant) of the S3 rows: Hexz with a block shuffle, without and with a
    local cache (``cache_dir=``), and the peers with their own shuffle (their local cache is how
    they read at all)."""
    out = []
    for order in ORDERS:
        hv = (
            HEXZ_S3_VARIANTS
            if order == "shuffle"
            else ["seq-sampler", "seq-sampler-cache"]
        )
        for fmt in S3_FORMATS:
            if fmt.startswith("hexz-"):
                out += [(fmt, order, v) for v in hv]
            else:
                out.append((fmt, order, "peer"))
    return out


def bench_loader(s3: Server, proxy: Server, tmp: Path, s3_root: Path) -> dict:
    data = loader_data(f"http://127.0.0.1:{s3.port}", s3_root)
    results = []
    for fmt, order, variant in s3_configs():
        for w in WORKERS:
            cfg = {
                "fmt": fmt,
                "workers": w,
                "order": order,
                "variant": variant,
                "endpoint": f"http://127.0.0.1:{proxy.port}",
                "key": data["keys"][fmt],
                "proxy_log": str(proxy.log),
                "tmp": str(tmp),
            }
            try:
                res = run_stage("loader", cfg, timeout=2 * EPOCH_S + 900)
            except RuntimeError as e:
                log(str(e))
                res = {**cfg, "error": str(e)}
            results.append(res)
            log_loader(res)
    return {
        "data": data,
        "samples": SAMPLES,
        "latency_ms": LATENCY_MS,
        "server": s3_fs_version(),
        "results": results,
    }


def log_loader(r: dict) -> None:
    cfg = f"{r['fmt']:<8} {r['order']:<7} w={r['workers']} {r['variant']:<18}"
    if "skipped" in r:
        log(f"loader {cfg} skipped: {r['skipped']}")
    elif "epochs" in r:
        log(
            f"loader {cfg} "
            + "; ".join(
                f"epoch {e['epoch']} {e['samples_s']:,.0f}/s,"
                f" first batch {e['first_batch_total_s']:.2f} s, {e['requests']} req,"
                f" fetched {e['fetched_ratio'] or 0:.2f}x, local {mib(e['local_bytes'])} MiB,"
                f" {measure.describe_epoch(e['epoch_check'], e['capped'])}"
                for e in r["epochs"]
            )
        )


# --- report --------------------------------------------------------------------------------


def versions() -> dict:
    from importlib.metadata import version

    def sh(cmd: list) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True)
            return (p.stdout + p.stderr).strip()
        except OSError:
            return "?"

    v = {"python": platform.python_version()}
    try:
        import hexz

        v["hexz"] = hexz.__version__
    except Exception:
        v["hexz"] = sh([str(HEXZ), "--version"]).split()[-1]
    head = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--", "crates"])
    v["hexz"] += f" (commit {head}{', crates/ modified' if dirty else ''})"
    v["nginx"] = sh([str(NGINX), "-v"]).split("/")[-1]
    v["curl"] = sh(["curl", "--version"]).split()[1]
    v["moto"] = sh(
        [
            str(MOTO_SERVER.parent / "python"),
            "-c",
            "import moto; print(moto.__version__)",
        ]
    )
    if S3S_FS.exists():
        v["s3s-fs"] = s3_fs_version().split()[-1]
    for pkg in ("boto3", "torch", "mosaicml-streaming", "litdata"):
        try:
            v[pkg] = version(pkg)
        except Exception:
            v[pkg] = "?"
    return v


def fmt_s(x: float) -> str:
    return "–" if x != x else f"{x:.2f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def archive_lines(meta: dict, a) -> None:
    a(
        f"- Archive: {meta['bytes'] / 1e6:,.0f} MB ({meta['bytes']:,} bytes), LZ4, 64 KiB blocks,"
        f" logical stream {meta['logical'] / 1e9:.2f} GB ({meta['logical'] / meta['bytes']:.2f}x):"
        f" {meta['source']}."
        + (f" Blocks: {meta['blocks']}." if meta.get("blocks") else "")
    )


def loader_report(L: dict, a) -> None:
    """Item 5's table: DataLoader epochs from s3s-fs behind the latency proxy."""
    d = L["data"]
    a(
        f"#### DataLoader from S3 ({L.get('server', 's3s-fs')}, +{L['latency_ms']} ms per request),"
        " item 5"
    )
    a("")
    forms = ", ".join(f"{fmt} ({mib(size)} MiB)" for fmt, size in d["sizes"].items())
    a(
        f"Data: loader_bench.py's data set, {L['samples']:,} samples ({d['payload'] / 1e9:.2f} GB),"
        f" as {forms} in s3s-fs (hexz-raw: the same samples made incompressible, as in the local"
        " benchmark; webdataset: tar shards read through a `pipe:curl` per shard; files: one"
        f" object per sample, one GET each), read through hexz-faultproxy adding"
        f" {L['latency_ms']} ms to each request."
        " Two epochs per configuration in a fresh process; `-cache` rows give hexz `cache_dir=`"
        " (a fresh directory), the peers always have theirs."
    )
    a("")
    a(
        "| Configuration | nw | Epoch | Samples/s | First batch (s) | Requests | Fetched ÷ samples"
        " | CPU-s |"
        " Peak PSS (MiB) | Local disk (MiB) | Regions/batch | Each sample once |"
    )
    a("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in L["results"]:
        name = f"{r['fmt']}, {r['order']}, {r['variant']}"
        if "epochs" not in r:
            why = r.get("skipped") or r.get("error", "?")
            a(
                f"| {name} | {r['workers']} | |"
                f" {'skipped' if 'skipped' in r else 'failed'}: {why[:90]} |" + " |" * 8
            )
            continue
        for e in r["epochs"]:
            once = measure.describe_epoch(e["epoch_check"], e["capped"])
            cap = " (capped)" if e["capped"] else ""
            a(
                f"| {name} | {r['workers']} | {e['epoch']} | {e['samples_s']:,.0f}{cap}"
                f" | {e['first_batch_total_s']:.2f} | {e['requests']:,}"
                f" | {e['fetched_ratio'] or 0:.2f}"
                f" | {e['cpu_s']:.1f} | {mib(e['peak_pss'])}"
                f" | {e['local_bytes'] / 2**20:,.0f} | {e['regions_per_batch']:.1f} | {once} |"
            )
    a("")
    a(
        "Requests: all requests through the proxy during the epoch (its counters)."
        " Fetched ÷ samples: bytes"
        " the proxy sent down ÷ the samples' bytes. First batch: epoch 1 from creating the dataset."
    )
    a("")


def report(res: dict, meta: dict, ver: dict, started, elapsed: float, load) -> str:
    lines: list = []
    a = lines.append
    cmd = runs.command_line("make bench-remote", ENV_VARS)
    a(f"### Run of {started:%Y-%m-%d %H:%M} UTC")
    a("")
    a(
        f"- Command: `{cmd}` (script: `benchmarks/remote_bench.py`), {elapsed / 60:.0f} min in all."
    )
    a(f"- Machine: {machine()}; shared with other engineers' builds while this ran.")
    a(
        f"  Load average (1 min) {load[0][0]:.1f} at the start, {load[1][0]:.1f} at the end."
    )
    a("- Versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()) + ".")
    if meta:
        archive_lines(meta, a)
        a(
            "- Servers on 127.0.0.1, each started by the script: nginx (`sendfile on`, one process), `hexz serve`,"
            " moto_server (S3; with the ranged-GET patch described below unless marked stock), and"
            f" `hexz-faultproxy --latency-ms {LATENCY_MS}` (and `--latency-ms 0`, the control) in front of nginx."
            " Page cache warm. Requests are counted in each server's own log."
        )
    a("")
    if "loader" in res:
        loader_report(res["loader"], a)
    if "read" in res:
        rows = {r["id"]: r for r in res["read"]["rows"]}
        a(
            f"#### Whole archive to /dev/null (items 1, 2, 4): medians of {RUNS} interleaved rounds"
        )
        a("")
        a(
            "| Server | Client | Time (s) | range (s) | Archive MB/s | Logical MB/s | Client CPU (s) | Server CPU (s) | Requests | Peer time / hexz time |"
        )
        a("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        srv_key = {"nginx": "nginx", "hexz serve": "serve", "moto (S3)": "moto"}
        for r in res["read"]["rows"]:
            t = r["median_s"]
            hexz_row = "hexz" in r["client"]
            logical = f"{meta['logical'] / t / 1e6:,.0f}" if hexz_row else "–"
            ratio = "–"
            if r["peer"] and r["peer"] in rows:
                ratio = f"**{rows[r['peer']]['median_s'] / t:.2f}×**"
            if r["id"] == "moto-hexz" and "moto-boto3-null" in rows:
                ratio += f" ({rows['moto-boto3-null']['median_s'] / t:.2f}× vs fileobj)"
            sk = srv_key.get(r["server"]) or (
                "nginx" if r["server"].startswith("nginx +") else None
            )
            scpu = r["server_cpu_s"].get(sk, float("nan")) if sk else float("nan")
            if r["server"].startswith("nginx +"):
                pk = "proxy" if f"{LATENCY_MS} ms" in r["server"] else "proxy0"
                scpu_s = (
                    f"{scpu:.2f} + proxy {r['server_cpu_s'].get(pk, float('nan')):.2f}"
                )
            else:
                scpu_s = fmt_s(scpu)
            a(
                f"| {r['server']} | {r['client']} | {t:.2f} | {min(r['times']):.2f}–{max(r['times']):.2f}"
                f" | {meta['bytes'] / t / 1e6:,.0f} | {logical} | {fmt_s(r['cpu_s'])} | {scpu_s}"
                f" | {r['requests']:,.0f} | {ratio} |"
            )
        a("")
        a(
            "Archive MB/s: the archive's bytes (what crosses the socket) per second; logical MB/s: the"
            " decompressed stream hexz writes. Client CPU: user + system of the client process (boto3: of"
            " the download only, measured in the process; its time also excludes starting Python and"
            " importing boto3). Server CPU: the server process's CPU during the run."
        )
        a("")
        nl = res["read"]["nginx_log"]
        a(
            f"One `hexz cat` over nginx, from nginx's access log: {nl['requests']:,} requests on"
            f" {nl['connections']} connections, median response {nl['median_request'] / 1e6:.2f} MB (largest"
            f" {nl['max_request'] / 1e6:.2f} MB), {nl['bytes'] / 1e6:,.0f} MB sent for a {meta['bytes'] / 1e6:,.0f} MB"
            f" object ({nl['bytes'] / meta['bytes']:.3f}×; {nl['unique_bytes'] / 1e6:,.0f} MB distinct;"
            f" {nl['near_refetch_bytes'] / 1e6:,.1f} MB fetched twice within 60 requests), statuses {nl['statuses']}."
        )
        a("")
        a("Goals:")
        a("")

        def goal(label, peer, hexz_id, target):
            if peer in rows and hexz_id in rows:
                x = rows[peer]["median_s"] / rows[hexz_id]["median_s"]
                a(
                    f"- {label} ≥ {target}× the peer: {verdict(x >= target)} — {x:.2f}×"
                    f" (hexz {rows[hexz_id]['median_s']:.2f} s, peer {rows[peer]['median_s']:.2f} s)"
                    + ("" if x >= target else f", {target / x:.2f}× short")
                    + "."
                )

        goal(
            "Loopback HTTP, nginx, `hexz cat` vs `curl`,",
            "nginx-curl",
            "nginx-hexz",
            0.8,
        )
        goal(
            "Loopback HTTP, `hexz serve`, `hexz cat` vs `curl`,",
            "serve-curl",
            "serve-hexz",
            0.8,
        )
        goal(
            "S3 (moto), `hexz cat` vs boto3 `download_file`,",
            "moto-boto3",
            "moto-hexz",
            1.0,
        )
        if "proxy-hexz" in rows and "nginx-hexz" in rows:
            x = rows["proxy-hexz"]["median_s"] / rows["nginx-hexz"]["median_s"]
            x0 = rows["proxy-hexz"]["median_s"] / rows["proxy0-hexz"]["median_s"]
            a(
                f"- With {LATENCY_MS} ms added per request, sequential throughput within 2× of no latency:"
                f" {verdict(x <= 2.0)} — {x:.2f}× the time of the direct nginx read"
                f" ({rows['proxy-hexz']['median_s']:.2f} s vs {rows['nginx-hexz']['median_s']:.2f} s);"
                f" {x0:.2f}× the time through the same proxy at 0 ms ({rows['proxy0-hexz']['median_s']:.2f} s),"
                " which separates the latency from the proxy's own cost."
            )
        a("")
    if "ttfb" in res:
        a(
            f"#### First 4 KiB, cold (item 3): medians of {TTFB_RUNS} runs (3 on stock moto)"
        )
        a("")
        a("| Server | Client | Median (ms) | range (ms) | Requests |")
        a("|---|---|---:|---:|---:|")
        for r in res["ttfb"]:
            a(
                f"| {r['server']} | {r['client']} | {r['median_ms']:.1f} | {r['min_ms']:.1f}–{r['max_ms']:.1f}"
                f" | {r['requests']:.0f} |"
            )
        a("")
        a(
            "A fresh `hexz cat` includes starting the process (a few ms); the Python row times"
            " `hexz.open` + `read_at` only, each with a new store (new connections)."
        )
        a("")
    if "stock" in res:
        s = res["stock"]
        a(
            f"Stock moto (no range patch), for scale: boto3 `download_file` of the same object took {s['s']:.1f} s"
            f" ({meta['bytes'] / s['s'] / 1e6:,.0f} MB/s, {s['requests']} requests): each ranged GET reads and copies"
            " the whole object in moto, so any client's time there grows with its number of requests. Hexz,"
            " with ten times the requests, was not timed there."
        )
        a("")
    return "\n".join(lines) + "\n"


def record(md: str) -> None:
    """Adds this run to docs/benchmarks.md, at the end of the "Remote archives" section."""
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    intro = (
        f"{DOC_HEADING}\n\n"
        "`make bench-remote` (`benchmarks/remote_bench.py`) reads a ~1 GB LZ4 archive over loopback HTTP\n"
        "(nginx, `hexz serve`) and S3 (moto_server), against `curl` and boto3 fetching the same bytes,\n"
        "times the first 4 KiB of a cold open, adds 20 ms per request with `hexz-faultproxy`, and feeds\n"
        "`torch.utils.data.DataLoader` from S3 against MosaicML Streaming and LitData. Goals from issue 4:\n"
        "loopback HTTP at least 0.8x curl's speed with decompression included; S3 at least 1.0x boto3;\n"
        "with 20 ms of latency, sequential throughput within 2x of none. Each run is appended below.\n\n"
    )
    body = md.rstrip() + "\n"
    if DOC_HEADING not in text:
        text = text.rstrip() + "\n\n" + intro + body
    else:
        start = text.index(DOC_HEADING)
        nxt = text.find("\n## ", start + len(DOC_HEADING))
        if nxt == -1:
            text = text.rstrip() + "\n\n" + body
        else:
            text = text[:nxt].rstrip() + "\n\n" + body + text[nxt:]
    doc.write_text(text)


# --- main ----------------------------------------------------------------------------------


def check_tools(need_archive: bool) -> None:
    """The programs the chosen items need (item 5 alone needs just the proxy; s3s-fs is
    installed on first use)."""
    missing = []
    tools = [(FAULTPROXY, "cargo build --release -p hexz-faultproxy")]
    if need_archive:
        tools += [
            (HEXZ, "cargo build --release -p hexz-cli (make build)"),
            (NGINX, "apt-get install nginx-light (make apt-build)"),
            (MOTO_SERVER, "make venv (moto[server] from requirements-dev.txt)"),
        ]
    for p, hint in tools:
        if not p.exists():
            missing.append(f"{p} ({hint})")
    if not shutil.which("curl"):
        missing.append("curl (apt-get install curl)")
    if missing:
        raise SystemExit("remote-bench: missing: " + "; ".join(missing))


def main() -> int:
    if "--record-last" in sys.argv[1:]:
        record((OUT / "remote.md").read_text())
        log(
            f"appended {OUT / 'remote.md'} to {ROOT / 'docs' / 'benchmarks.md'} under {DOC_HEADING!r}"
        )
        return 0
    ensure_venv()
    rec = "--record" in sys.argv[1:] or os.environ.get("REMOTE_BENCH_RECORD") == "1"
    bad = [i for i in ITEMS if i not in ALL_ITEMS]
    if bad:
        log(f"unknown items {bad}; choose from {ALL_ITEMS}")
        return 2
    need_archive = bool({"read", "ttfb", "stock"} & set(ITEMS))
    check_tools(need_archive)
    if "loader" in ITEMS or "ttfb" in ITEMS:
        try:
            import hexz  # noqa: F401
        except ImportError as e:
            log(
                f"cannot import hexz from {HEXZ_PY} ({e}): build it first with `make develop`"
            )
            return 1
    started = datetime.datetime.now(datetime.UTC)
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    arch, meta = make_archive() if need_archive else (None, {})
    if need_archive:
        log(f"archive {arch}: {meta['bytes']:,} bytes, logical {meta['logical']:,}")
    ver = versions()
    res: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="hexz-remote-bench-"))
    servers: list = []

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    try:
        if need_archive:
            ng = start_nginx(arch.parent, tmp / "nginx")
            servers.append(ng)
            sv = start_serve(arch, tmp / "serve")
            servers.append(sv)
            mo = start_moto(tmp / "moto", patched=True)
            servers.append(mo)
            p20 = start_proxy(ng.port, LATENCY_MS, tmp / "proxy")
            servers.append(p20)
            p0 = start_proxy(ng.port, 0, tmp / "proxy0")
            servers.append(p0)
            srv = {"nginx": ng, "serve": sv, "moto": mo, "proxy": p20, "proxy0": p0}
            log(
                f"servers: nginx :{ng.port}, hexz serve :{sv.port}, moto :{mo.port}, proxy {LATENCY_MS} ms :{p20.port}, proxy 0 ms :{p0.port}"
            )
            endpoint = f"http://127.0.0.1:{mo.port}"
            if {"read", "ttfb"} & set(ITEMS):
                t0 = time.perf_counter()
                upload(endpoint, arch, arch.name)
                log(f"uploaded the archive to moto in {time.perf_counter() - t0:.1f} s")
            stock = None
            if "stock" in ITEMS:
                stock = start_moto(tmp / "moto-stock", patched=False)
                servers.append(stock)
                upload(f"http://127.0.0.1:{stock.port}", arch, arch.name)
        if "read" in ITEMS:
            res["read"] = bench_reads(arch, meta, srv, tmp)
        if "ttfb" in ITEMS:
            res["ttfb"] = bench_ttfb(arch, srv, stock)
        if "stock" in ITEMS and stock is not None:
            res["stock"] = bench_stock(arch, stock)
            stock.stop()
        if "loader" in ITEMS:
            ensure_s3s_fs()
            s3 = start_s3s_fs(tmp / "s3s-fs")
            servers.append(s3)
            ps3 = start_proxy(s3.port, LATENCY_MS, tmp / "proxy-s3", stats=True)
            servers.append(ps3)
            log(f"s3s-fs :{s3.port}, behind a {LATENCY_MS} ms proxy :{ps3.port}")
            res["loader"] = bench_loader(s3, ps3, tmp, tmp / "s3s-fs" / "root")
    finally:
        for s in reversed(servers):
            with contextlib.suppress(Exception):
                s.stop()
        keep = os.environ.get("REMOTE_BENCH_KEEP_LOGS") == "1"
        if keep:
            log(f"server logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - t_start
    md = report(res, meta, ver, started, elapsed, (load0, os.getloadavg()))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "remote.md").write_text(md)
    (OUT / "remote.json").write_text(
        json.dumps(
            {"archive": meta, "results": res, "versions": ver}, indent=1, default=str
        )
    )
    doc = {
        "items": ITEMS,
        "elapsed_s": elapsed,
        "versions": ver,
        "archive": meta,
        "results": res,
    }
    if "loader" in res:
        doc["s3_loader"] = res["loader"]
    run_dir = runs.write_run(
        "remote", doc, runs.command_line("make bench-remote", ENV_VARS), started
    )
    print(md)
    log(
        f"wrote {run_dir / 'results.json'}, {OUT / 'remote.md'} and {OUT / 'remote.json'}"
    )
    if rec and "loader" in res:
        import issue11_report

        issue11_report.update_docs()
        log(
            'regenerated the "Training loader vs LitData" section of docs/benchmarks.md'
            " from the newest runs"
        )
    if rec:
        record(md)
        log(
            f"appended the run to {ROOT / 'docs' / 'benchmarks.md'} under {DOC_HEADING!r}"
        )
    else:
        log(
            "not recorded in docs/benchmarks.md (--record or REMOTE_BENCH_RECORD=1 to record)"
        )
    return 0


def stage_main(kind: str, cfg: dict) -> None:
    fn = {"boto3": stage_boto3, "py_open": stage_py_open, "loader": stage_loader}[kind]
    print("RESULT " + json.dumps(fn(cfg)), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--moto":
        moto_main(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "--stage":
        stage_main(sys.argv[2], json.loads(sys.argv[3]))
    else:
        try:
            sys.exit(main())
        except KeyboardInterrupt:
            log("interrupted; servers stopped")
            sys.exit(130)
